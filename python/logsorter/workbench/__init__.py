"""The ruleset workbench: how a ruleset does on a corpus of real logs, and
what a change to it moves, before it lands.

- ``corpus``: logs in folders, files or under an S3 prefix, with their
  labels (fixture markers, ``labels.tsv``) and conclusions (``jobs.jsonl``);
- ``run``: rulesets over a corpus, logs read ahead and surveyed in batches
  by the engine on every core;
- ``stats``, ``diff``, ``sample``: what ``logsorter rules stats|diff|sample``
  compute from a run;
- ``report``: their self-contained HTML page;
- ``pull``: ``logsorter corpus pull``, logs from S3 into a local corpus.
"""
