#!/usr/bin/env bash
# Regenerates the committed Python code for every .proto under proto/. Run through `make proto`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export PATH="$(pwd)/.venv/bin:$PATH"   # protoc-gen-mypy and protoc-gen-mypy_grpc live there
out=${1:-proto}
find "$out/nivaran" -name '*_pb2*.py*' -delete 2>/dev/null || true
mapfile -t files < <(cd proto && find nivaran -name '*.proto' | sort)
"$PY" -m grpc_tools.protoc -Iproto \
  --python_out="$out" --grpc_python_out="$out" \
  --mypy_out="$out" --mypy_grpc_out="$out" \
  "${files[@]/#/proto/}"
