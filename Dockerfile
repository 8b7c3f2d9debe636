# syntax=docker/dockerfile:1
# secretgate's container image: the static binary, helm for `secretgate helm`,
# CA certificates, and a POSIX shell (GitLab runs job scripts with one). It runs
# as root, as GitHub requires of Docker actions.
#
# Base images are build arguments pinned by digest; the tags are in the comments.
#   golang:1.26  and  alpine:3.22
ARG GO_IMAGE=golang:1.26@sha256:9edf71320ef8a791c4c33ec79f90496d641f306a91fb112d3d060d5c1cee4e20
ARG BASE_IMAGE=alpine:3.22@sha256:14358309a308569c32bdc37e2e0e9694be33a9d99e68afb0f5ff33cc1f695dce

# The build stage runs on the builder's own platform and cross-compiles for the
# target's (linux/amd64, linux/arm64): no emulation.
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
ARG VERSION=dev
ARG COMMIT=
ARG DATE=
ARG HELM_VERSION=v3.22.0
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ENV CGO_ENABLED=0
WORKDIR /src
COPY go.mod go.sum ./
# With a vendor directory (an offline build), modules come from it.
COPY . .
RUN if [ -d vendor ]; then export GOFLAGS=-mod=vendor; else go mod download; fi && \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X github.com/secretgate/secretgate/internal/cli.version=${VERSION} -X github.com/secretgate/secretgate/internal/cli.commit=${COMMIT} -X github.com/secretgate/secretgate/internal/cli.date=${DATE}" \
      -o /out/secretgate . && \
    if [ "$(go env GOHOSTARCH)" = "$TARGETARCH" ]; then /out/secretgate version; fi
RUN if [ -x /src/.build/helm-$TARGETARCH ]; then cp /src/.build/helm-$TARGETARCH /out/helm; \
    elif [ -x /src/.build/helm ] && [ "$(go env GOHOSTARCH)" = "$TARGETARCH" ]; then cp /src/.build/helm /out/helm; \
    else GOOS=$TARGETOS GOARCH=$TARGETARCH go install -trimpath -ldflags "-s -w" helm.sh/helm/v3/cmd/helm@${HELM_VERSION} && \
      cp "$(go env GOPATH)/bin/${TARGETOS}_${TARGETARCH}/helm" /out/helm 2>/dev/null || cp "$(go env GOPATH)/bin/helm" /out/helm; fi
# The GitHub action's post step: it gets the step's arguments, which cleanup ignores.
RUN printf '#!/bin/sh\nexec /usr/local/bin/secretgate cleanup\n' > /out/secretgate-post && chmod 755 /out/secretgate-post

FROM ${BASE_IMAGE}
ARG VERSION=dev
LABEL org.opencontainers.image.title="secretgate" \
      org.opencontainers.image.description="Let secrets into CI/CD pipelines safely, keep them out of logs, fail builds that embed them" \
      org.opencontainers.image.source="https://github.com/secretgate/secretgate" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/secretgate"]
CMD ["--help"]
