#!/bin/sh
# Starts the reference server in place of the chat binary (the load
# generator's --server-bin / LOADGEN_NODE_REF): exec keeps one process, so
# its memory and CPU are the server's own.
exec node "$(dirname "$0")/server.js"
