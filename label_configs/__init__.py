"""Label Studio label configs shipped with casper-qc (package data: ``*.xml``, ``*.md``).

Find them with :func:`casper_qc.formats.labelconfig.bundled_config_path`.
"""
