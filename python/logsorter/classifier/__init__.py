"""The CI-log classifier: a job's log in S3 is classified by the ruleset and
the verdict is written onto the job's item in the jobs table (DynamoDB).

- ``config``: ``ClassifierConfig``, read from the environment once (buckets,
  table, compiled ruleset);
- ``events``: Lambda events (API Gateway, direct, S3, SQS) to
  ``ClassifyRequest``;
- ``classify``: ``JobClassifier`` classifies one job, reading its log through
  ``logsorter.storage`` and writing through ``jobs_table``;
- ``jobs_table``: the jobs table's attribute names, the verdict write and the
  backfill's scan;
- ``app``: ``ClassifierApp``, the Lambda function (dispatch, responses, logs
  and metrics) behind ``logsorter.handlers.classify``;
- ``backfill``: finds jobs without a current verdict and classifies or queues
  them in bulk;
- ``errors``: why a job could not be classified, with its HTTP status;
- ``fixtures``: the regression fixtures (logs with the expected verdict
  marked in-band) behind ``logsorter fixtures``.
"""
