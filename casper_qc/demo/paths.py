"""Where the demo finds its samples and keeps its state (standard library only)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
SAMPLES = REPO / "samples"
REFERENCES = SAMPLES / "references"
#: The demo's state directory unless ``--dir`` or ``CASPER_QC_DEMO_DIR`` says otherwise.
DEFAULT_DIR = REPO / ".demo"

#: Default ports on 127.0.0.1, and the variables that override them.
DEFAULT_PORTS = {"label-studio": 8080, "ml-backend": 9090, "qc": 8090}
PORT_VARIABLES = {"label-studio": "CASPER_QC_DEMO_LS_PORT", "ml-backend": "CASPER_QC_DEMO_BACKEND_PORT",
                  "qc": "CASPER_QC_DEMO_QC_PORT"}
#: What each service is called in messages.
TITLES = {"label-studio": "Label Studio", "ml-backend": "ML backend", "qc": "QC service"}
THE = {"label-studio": "Label Studio", "ml-backend": "the ML backend", "qc": "the QC service"}


@dataclass(frozen=True)
class Sample:
    """One bundled conversation: its audio file in ``samples/`` and its conversation id."""

    file: str
    conversation: str
    what: str


#: The project's tasks, in import order (task 1 first).
CONVERSATIONS = (
    Sample("mixed_dialogue.flac", "mixed_dialogue",
           "44 s, two people taking turns, one overlap"),
    Sample("mfa_uh_um_overlap.flac", "mfa_uh_um_overlap",
           "12 s, both talk at once, a filled pause each"),
    Sample("michaelandsickmichael.wav", "michaelandsickmichael",
           "52 s, long turns; two annotators' recorded annotations"),
)
#: The recorded annotations the demo posts (as their annotators) on the sample conversation.
RECORDED = SAMPLES / "michaelandsickmichael.labelstudio.json"


@dataclass(frozen=True)
class Layout:
    """The files of one demo directory."""

    root: Path

    @classmethod
    def at(cls, directory: str | os.PathLike[str] | None) -> "Layout":
        chosen = directory or os.environ.get("CASPER_QC_DEMO_DIR") or DEFAULT_DIR
        return cls(Path(chosen).expanduser().resolve())

    @property
    def credentials(self) -> Path:
        return self.root / "credentials.env"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def lock(self) -> Path:
        return self.root / "demo.lock"

    @property
    def run(self) -> Path:
        return self.root / "run"

    def pidfile(self, service: str) -> Path:
        return self.run / f"{service}.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log(self, service: str) -> Path:
        return self.logs / f"{service}.log"

    @property
    def labelstudio(self) -> Path:
        """Label Studio's data directory (SQLite database, its log ``server.log``)."""
        return self.root / "label-studio"

    @property
    def media(self) -> Path:
        """Label Studio's local-files document root, shared with the ML backend."""
        return self.root / "media"

    @property
    def references(self) -> Path:
        return self.root / "references"

    @property
    def exports(self) -> Path:
        """The QC service's exports of the adopted annotations (TextGrids, supervisions.jsonl)."""
        return self.root / "exports"

    @property
    def backend_model_dir(self) -> Path:
        return self.root / "ml-backend"

    def make(self, target: str) -> str:
        """The make command for ``target`` on this directory (``make down``, ``make demo``)."""
        if self.root == DEFAULT_DIR.resolve():
            return f"make {target}"
        import shlex

        return f"make {target} DEMO_DIR={shlex.quote(str(self.root))}"
