# Placeholder until the packaging work: see README.
FROM public.ecr.aws/lambda/python:3.12
