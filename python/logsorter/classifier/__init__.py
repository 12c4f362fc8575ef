"""The CI-log classifier service: a log in S3 is classified by the ruleset and
the verdict is written onto the job's DynamoDB item.

``events`` turns Lambda events into requests, ``core`` does the work with
clients passed in, ``service`` adds logging and metrics for the Lambda
handler, and ``backfill`` finds and re-classifies jobs in bulk.
"""
