"""Data in: a project's tasks from a Label Studio JSON export file or live through label-studio-sdk.

Reading is *tolerant per task and per annotation*, because a QC report on the rest of a project
is worth more than an error about one region:

* a task whose own data cannot be read (no audio field, no data object) is left out;
* an annotation or prediction that cannot be read (a speaker label or a choice outside the label
  config, a region whose end is not after its start, ...) is left out and its task is read with
  the others;
* cancelled (skipped) annotations are left out (the Label Studio reader does that).

Every left-out item becomes an :class:`Omission` with the one-line reason from
:mod:`casper_qc.formats.labelstudio`; the report lists them all, so a partial report says what it
left out. A file that is not a Label Studio export at all (not JSON, not a list) is still an
:class:`~casper_qc.errors.InputError`.

Annotators are named by e-mail when Label Studio says who they are: from the user objects of an
export snapshot, from ``created_username`` (what the SDK returns), or from the server's user list
(``users.list()`` on a live pull). An id the source never names is ``user-<id>``. The
:attr:`ProjectSource.users` directory keeps every id -> name seen, so an annotation arriving later
by webhook (which carries the user id only) gets the same name.

Which prediction an annotation started from: its ``parent_prediction`` when Label Studio recorded
one, else the task's latest prediction (the one the editor pre-fills) - see
:attr:`TaskInput.parents`. Export files list predictions by id only; the annotations' embedded
``prediction`` objects give their contents.

Review verdicts (for adjudication) come from an annotation's ``reviews`` list when the source has
one (Label Studio Enterprise exports) or, on a live pull, from ``annotation_reviews.list``;
Label Studio Community has no reviews, and then adjudication is skipped (the source says so in
:attr:`ProjectSource.reviews`).

Live pulls authenticate with the API key as label-studio-sdk 2.x does: a legacy token is sent
as ``Authorization: Token ...``, a personal access token (a JWT refresh token) is exchanged for
an access token. The key is never logged or put in a message.
"""

from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..errors import FormatError, InputError
from ..fileio import read_json
from ..formats.labelconfig import LabelConfig
from ..formats.labelstudio import as_dict, read_tasks
from ..model import Annotation, Task

__all__ = [
    "Omission",
    "TaskInput",
    "ProjectSource",
    "read_raw_task",
    "load_export",
    "pull_project",
    "read_annotation",
    "with_annotation",
    "without_annotation",
    "annotator_name",
    "gc_paused",
    "BULK_OBJECTS",
]


#: A paused stretch that leaves more container objects than this alive freezes them.
BULK_OBJECTS = 100_000


@contextlib.contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector for a bulk read or build, restoring its state
    after. Reading a project creates millions of long-lived, acyclic records (words, turns);
    each full collection would traverse all of them again (about a third of the reading time
    on a 1 M-word project). Reference counting still frees everything as usual.

    When the stretch ends normally and leaves more than :data:`BULK_OBJECTS` new container
    objects behind, they are frozen (``gc.freeze()``) before the collector is enabled again:
    otherwise the first collections after it (young, middle, then full) would each traverse all
    of them once more, about a second per pass on that project. Frozen objects are still freed
    by reference counting; only cyclic garbage among them would wait for ``gc.unfreeze()``, and
    the records read here hold no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    except BaseException:  # a failed read is not frozen (its traceback holds cycles)
        if enabled:
            gc.enable()
        raise
    if enabled:
        if gc.get_count()[0] > BULK_OBJECTS:
            gc.freeze()
        gc.enable()


@dataclass(frozen=True)
class Omission:
    """Something the report left out: ``what`` (``task``, ``annotation``, ``prediction``,
    ``reference``, ``figure``, ``export``), the ``reason`` (one line), and where."""

    what: str
    reason: str
    task: int | str | None = None
    annotation: int | str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"what": self.what, "task": self.task, "annotation": self.annotation, "reason": self.reason}

    def __str__(self) -> str:
        where = []
        if self.task is not None:
            where.append(f"task {self.task}")
        if self.annotation is not None:
            where.append(f"{self.what} {self.annotation}")
        return ": ".join([*where, self.reason])


@dataclass
class TaskInput:
    """One task as read: the model task, per annotation id the prediction id it started from
    (``parents``) and the latest review verdict (``reviews``: True accepted, False rejected), and
    what was left out of it (``omissions``)."""

    task: Task
    parents: dict[Any, Any] = field(default_factory=dict)
    reviews: dict[Any, bool] = field(default_factory=dict)
    omissions: list[Omission] = field(default_factory=list)


@dataclass
class ProjectSource:
    """A project's tasks as read, in source order, and where they came from.

    ``kind`` is ``export`` or ``labelstudio``; ``name`` the file or the server URL (never a key);
    ``project`` the Label Studio project id when known; ``reviews`` says whether review verdicts
    were available; ``omissions`` are the tasks left out whole.
    """

    kind: str
    name: str
    config: LabelConfig
    tasks: dict[Any, TaskInput]
    project: int | None = None
    users: dict[int, str] = field(default_factory=dict)
    omissions: list[Omission] = field(default_factory=list)
    reviews: str = "none in the source"

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "project": self.project, "reviews": self.reviews}


# --------------------------------------------------------------------------- reading one task


def _is_id(value: Any) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _with_embedded_predictions(raw: dict[str, Any]) -> dict[str, Any]:
    """Replace id-only predictions by the objects the annotations embed (JSON export files)."""
    predictions = raw.get("predictions")
    if not isinstance(predictions, list) or not any(_is_id(p) for p in predictions):
        return raw
    embedded: dict[Any, dict[str, Any]] = {}
    for annotation in raw.get("annotations") or []:
        if isinstance(annotation, Mapping) and isinstance(annotation.get("prediction"), Mapping):
            prediction = dict(annotation["prediction"])
            if _is_id(prediction.get("id")) and isinstance(prediction.get("result"), list):
                embedded.setdefault(prediction["id"], prediction)
    if not embedded:
        return raw
    out = dict(raw)
    out["predictions"] = [embedded.get(p, p) if _is_id(p) else p for p in predictions]
    return out


def annotator_name(annotation: Annotation, users: Mapping[int, str]) -> Annotation:
    """``annotation`` named from the user directory when it knows the annotator's id."""
    if annotation.annotator_id is not None and annotation.annotator_id in users:
        name = users[annotation.annotator_id]
        if name != annotation.annotator:
            return replace(annotation, annotator=name)
    return annotation


def _learn_user(users: dict[int, str], annotation: Annotation) -> None:
    name, uid = annotation.annotator, annotation.annotator_id
    if uid is not None and name and name != f"user-{uid}" and uid not in users:
        users[uid] = name


def _review_verdict(raw: Mapping[str, Any]) -> bool | None:
    reviews = raw.get("reviews")
    if not isinstance(reviews, list):
        return None
    verdicts = [r for r in reviews if isinstance(r, Mapping) and isinstance(r.get("accepted"), bool)]
    if not verdicts:
        return None
    latest = max(enumerate(verdicts), key=lambda p: (str(p[1].get("created_at") or ""), p[0]))[1]
    return bool(latest["accepted"])


def _error_text(err: InputError | str, prefix: str) -> str:
    """The error without the location levels the caller states itself."""
    message = err.message if isinstance(err, InputError) else err
    return message[len(prefix):] if message.startswith(prefix) else message


def read_raw_task(raw_item: Any, config: LabelConfig, *, source: str, users: dict[int, str],
                  position: int = 1) -> TaskInput | Omission:
    """One Label Studio task (a dict or an SDK object), tolerant per annotation (module doc).

    Returns an :class:`Omission` when the task itself cannot be read.
    """
    raw = as_dict(raw_item)
    if raw is None:
        return Omission("task", f"item {position} of {source} is not a task object", task=f"#{position}")
    task_id = raw.get("id") if _is_id(raw.get("id")) else f"#{position}"
    raw = _with_embedded_predictions(raw)
    prefix = f"{source}: task {task_id}: "
    omissions: list[Omission] = []
    try:
        task = read_tasks([raw], config, source=source)[0]
    except InputError as whole:
        skeleton = {**raw, "annotations": [], "predictions": []}
        try:
            read_tasks([skeleton], config, source=source)
        except InputError as err:
            return Omission("task", _error_text(err, prefix), task=task_id)
        keep: dict[str, list[Any]] = {"annotations": [], "predictions": []}
        for kind in ("annotations", "predictions"):
            items = raw.get(kind)
            if not isinstance(items, list):
                return Omission("task", _error_text(whole, prefix), task=task_id)
            for index, item in enumerate(items, 1):
                try:
                    read_tasks([{**skeleton, kind: [item]}], config, source=source)
                except InputError as err:
                    item_id = item.get("id") if isinstance(item, Mapping) else None
                    name = item_id if item_id is not None else f"#{index}"
                    reason = _error_text(_error_text(err, prefix), f"{kind[:-1]} {name}: ")
                    omissions.append(Omission(kind[:-1], reason, task=task_id, annotation=name))
                    continue
                keep[kind].append(item)
        try:
            task = read_tasks([{**raw, **keep}], config, source=source)[0]
        except InputError as err:  # the readable parts do not go together either
            return Omission("task", _error_text(err, prefix), task=task_id)
    for annotation in task.annotations:
        _learn_user(users, annotation)
    named = tuple(annotator_name(a, users) for a in task.annotations)
    if named != task.annotations:
        task = replace(task, annotations=named)
    parents: dict[Any, Any] = {}
    reviews: dict[Any, bool] = {}
    for item in raw.get("annotations") or []:
        if not isinstance(item, Mapping) or item.get("was_cancelled"):
            continue
        parent = item.get("parent_prediction")
        parents[item.get("id")] = parent.get("id") if isinstance(parent, Mapping) else parent
        verdict = _review_verdict(item)
        if verdict is not None:
            reviews[item.get("id")] = verdict
    return TaskInput(task, parents, reviews, omissions)


def read_annotation(raw_annotation: Mapping[str, Any], task: Task, config: LabelConfig, *,
                    users: dict[int, str], source: str = "webhook") -> tuple[Annotation | None, float | None]:
    """One annotation of ``task`` (from a webhook), named from ``users``, with the audio duration
    its results state; ``(None, None)`` if it was cancelled.

    Raises:
        InputError: it cannot be read (the message names the task and annotation).
    """
    if raw_annotation.get("was_cancelled"):
        return None, None
    skeleton = {"id": task.id, "data": dict(task.data), "annotations": [dict(raw_annotation)], "predictions": []}
    read = read_tasks([skeleton], config, source=source)[0]
    if not read.annotations:
        return None, None
    annotation = read.annotations[0]
    _learn_user(users, annotation)
    return annotator_name(annotation, users), read.conversation.duration


def with_annotation(task: Task, annotation: Annotation, duration: float | None = None) -> Task:
    """``task`` with ``annotation`` added, or replacing the one with the same id; the
    conversation's duration grows to ``duration`` when that is longer."""
    annotations = list(task.annotations)
    at = next((k for k, a in enumerate(annotations) if a.id == annotation.id), None)
    if at is None:
        annotations.append(annotation)
    else:
        annotations[at] = annotation
    conversation = task.conversation
    if duration is not None and (conversation.duration is None or duration > conversation.duration):
        conversation = replace(conversation, duration=duration)
    return replace(task, annotations=tuple(annotations), conversation=conversation)


def without_annotation(task: Task, annotation_id: Any) -> Task:
    """``task`` without the annotation ``annotation_id`` (unchanged if it has none)."""
    return replace(task, annotations=tuple(a for a in task.annotations if a.id != annotation_id))


# --------------------------------------------------------------------------- whole projects


def _read_all(items: Iterable[Any], config: LabelConfig, source: str, users: dict[int, str]
              ) -> tuple[dict[Any, TaskInput], list[Omission]]:
    tasks: dict[Any, TaskInput] = {}
    omissions: list[Omission] = []
    for position, item in enumerate(items, 1):
        read = read_raw_task(item, config, source=source, users=users, position=position)
        if isinstance(read, Omission):
            omissions.append(read)
        elif read.task.id in tasks:
            omissions.append(Omission("task", "appears twice in the source; the first is kept", task=read.task.id))
        else:
            tasks[read.task.id] = read
    # names learnt from later tasks apply to earlier ones too
    for entry in tasks.values():
        named = tuple(annotator_name(a, users) for a in entry.task.annotations)
        if named != entry.task.annotations:
            entry.task = replace(entry.task, annotations=named)
    return tasks, omissions


def load_export(path: str | Path, config: LabelConfig) -> ProjectSource:
    """A Label Studio JSON export file (``exportType=JSON`` or an export snapshot).

    Raises:
        FormatError: the file cannot be read, is not JSON, or is not a list of tasks (one line
            naming the file). Problems inside tasks become omissions (module doc).
    """
    path = Path(path)
    with gc_paused():  # the decoded JSON is millions of acyclic objects too
        payload = read_json(path, missing="file not found", not_utf8="is not UTF-8 text",
                            directory="is a directory, not a Label Studio JSON export")
        if not isinstance(payload, list):
            kind = "an object" if isinstance(payload, dict) else type(payload).__name__
            raise FormatError(f"a Label Studio JSON export is a list of tasks, not {kind}", where=str(path))
        users: dict[int, str] = {}
        tasks, omissions = _read_all(payload, config, str(path), users)
    projects = {raw.get("project") for raw in payload if isinstance(raw, Mapping)
                and isinstance(raw.get("project"), int) and not isinstance(raw.get("project"), bool)}
    reviews = "from the export" if any(e.reviews for e in tasks.values()) else "none in the export"
    return ProjectSource("export", str(path), config, tasks, project=projects.pop() if len(projects) == 1 else None,
                         users=users, omissions=omissions, reviews=reviews)


def pull_project(url: str, api_key: str, project: int, *, config: LabelConfig | None = None,
                 timeout: float = 60.0) -> ProjectSource:
    """A project's tasks (with annotations and predictions), label config, users and, when the
    server has them, review verdicts, read live through label-studio-sdk.

    ``config`` overrides the project's own label config.

    Raises:
        InputError: the server cannot be reached, refuses the key, or has no such project (one
            line naming the URL and what failed; never the key).
    """
    from ..formats.labelconfig import parse_label_config

    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InputError(f"the Label Studio URL must start with http:// or https://, not {url!r}",
                         where="LABEL_STUDIO_URL")
    if not api_key:
        raise InputError("no API key: set LABEL_STUDIO_API_KEY (a legacy token or a personal access token)",
                         where="LABEL_STUDIO_API_KEY")
    url = url.rstrip("/")
    import httpx
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.api_error import ApiError

    def failed(err: Exception, doing: str) -> InputError:
        if isinstance(err, ApiError):
            code = err.status_code
            if code in (401, 403):
                return InputError(f"Label Studio refused the API key (HTTP {code}) when {doing}", where=url)
            if code == 404:
                return InputError(f"Label Studio has no project {project} (HTTP 404)", where=url)
            return InputError(f"Label Studio answered HTTP {code} when {doing}", where=url)
        if isinstance(err, httpx.TimeoutException):
            return InputError(f"Label Studio did not answer within {timeout:g} s when {doing}", where=url)
        return InputError(f"cannot reach Label Studio ({type(err).__name__}) when {doing}", where=url)

    errors = (ApiError, httpx.HTTPError)
    try:
        client = LabelStudio(base_url=url, api_key=api_key, timeout=timeout)
        info = client.projects.get(id=project)
    except errors as err:
        raise failed(err, f"reading project {project}") from None
    if config is None:
        config = parse_label_config(info.label_config or "", source=f"{url} project {project} label config")
    users: dict[int, str] = {}
    try:
        for user in client.users.list():
            if user.id is not None and (user.email or user.username):
                users[int(user.id)] = str(user.email or user.username)
    except errors as err:
        raise failed(err, "listing the users") from None
    try:
        items = [as_dict(task) for task in client.tasks.list(project=project, fields="all")]
    except errors as err:
        raise failed(err, f"listing the tasks of project {project}") from None
    review_state = "unavailable"
    verdicts: dict[Any, bool] = {}
    try:
        found = client.annotation_reviews.list(annotation_task_project=project)
        latest: dict[Any, tuple[str, bool]] = {}
        for review in found:
            if review.accepted is None:
                continue
            stamp = review.created_at.isoformat() if review.created_at else ""
            if review.annotation not in latest or stamp >= latest[review.annotation][0]:
                latest[review.annotation] = (stamp, bool(review.accepted))
        verdicts = {k: v for k, (_, v) in latest.items()}
        review_state = "from Label Studio"
    except ApiError as err:
        review_state = f"unavailable (HTTP {err.status_code}: Label Studio Community has no annotation reviews)"
    except httpx.HTTPError as err:
        raise failed(err, "listing the annotation reviews") from None
    source = f"{url} project {project}"
    with gc_paused():
        tasks, omissions = _read_all(items, config, source, users)
    for entry in tasks.values():
        for annotation in entry.task.annotations:
            if annotation.id in verdicts:
                entry.reviews[annotation.id] = verdicts[annotation.id]
    return ProjectSource("labelstudio", url, config, tasks, project=project, users=users,
                         omissions=omissions, reviews=review_state)
