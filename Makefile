# The two commands a new machine needs (see README.md).
SHELL := /usr/bin/env bash

.PHONY: run test setup dev

## Install what is missing, then build and serve Nabd at http://127.0.0.1:3000
run:
	.ci/setup.sh run
	.ci/serve.sh

## Install what is missing, then run every check and test (unit, integration, browser)
test:
	.ci/setup.sh test
	.ci/test.sh

## Install the tools only
setup:
	.ci/setup.sh test

## Rebuild and reload on every change (day-to-day development)
dev:
	.ci/setup.sh run
	source .ci/env.sh && cargo leptos watch --split
