#!/usr/bin/env bash
# make run: the embedded default. Starts the local CloudWatch emulator in the foreground and
# says how to point a client at it. Ctrl-C stops it.
set -u
build=${1:-build}
repo=$(cd "$(dirname "$0")/.." && pwd)
port=${CWEMU_PORT:-4566}
echo "Starting the local CloudWatch emulator on 127.0.0.1:$port (Ctrl-C to stop)."
echo "Point a client at it with:"
echo "  export AWS_ACCESS_KEY_ID=AKIDCWEMULATOR00001"
echo "  export AWS_SECRET_ACCESS_KEY=cwemu/secret/key/for/local/tests/only00"
echo "  export AWS_REGION=us-east-1 AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$port"
echo "  aws --endpoint-url http://127.0.0.1:$port cloudwatch list-metrics"
exec /usr/bin/python3 "$repo/tests/emulator/cwemu" --port "$port"
