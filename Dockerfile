# syntax=docker/dockerfile:1.7
# One image serves the four functions; pick one by overriding CMD:
#   logsorter.handlers.classify (default), logsorter.handlers.collate,
#   logsorter.handlers.collate_dlq, logsorter.handlers.forget
# Build for one architecture at a time:
#   docker build --platform linux/amd64 -t logsorter .
#   docker build --platform linux/arm64 -t logsorter:arm64 .

ARG LAMBDA_PYTHON_IMAGE=public.ecr.aws/lambda/python:3.12

# Builder: the same OS and Python as the runtime, so the wheel links against
# the glibc and interpreter it will run with.
FROM ${LAMBDA_PYTHON_IMAGE} AS builder
ARG RUST_VERSION=1.95.0
ENV RUSTUP_HOME=/opt/rustup CARGO_HOME=/opt/cargo PATH=/opt/cargo/bin:$PATH
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The compiler comes with the base image's OS release; pinning its exact
# package version would break the build at every base image update.
# hadolint ignore=DL3041
RUN dnf install -y gcc tar gzip && dnf clean all \
    && curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
       | sh -s -- -y --profile minimal --default-toolchain "${RUST_VERSION}" \
    && python3.12 -m pip install --no-cache-dir 'maturin>=1.9.4,<2'
WORKDIR /src
COPY Cargo.toml Cargo.lock pyproject.toml README.md ./
COPY rust ./rust
COPY python ./python
RUN --mount=type=cache,target=/opt/cargo/registry \
    --mount=type=cache,target=/src/target \
    maturin build --profile dist --interpreter python3.12 --compatibility linux --out /dist

# Runtime: the Lambda base image and the wheel, nothing else.
FROM ${LAMBDA_PYTHON_IMAGE} AS runtime
COPY --from=builder /dist/*.whl /tmp/wheels/
RUN python3.12 -m pip install --no-cache-dir /tmp/wheels/*.whl && rm -rf /tmp/wheels
CMD ["logsorter.handlers.classify"]
