"""The composition: the pipeline's steps (land, build, push, publish) over the ingest, write-back and
kernel layers, as plain functions the CLI and the Prefect flows (flows/) run."""
