#!/usr/bin/env bash
# The scripted session behind docs/assets/demo.svg: set up an AI tool, remember in one
# session, recall in a new session of another tool. `make demo-recording` records it with
# asciinema and renders the SVG; tests/test_demo.py runs it with no typing delay.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
delay=${DEMO_TYPING_DELAY:-0.04}
# A fresh home and project, so the recording shows a first-time user and touches nothing real.
demo_home=${DEMO_HOME:-${TMPDIR:-/tmp}/memorymesh-demo}
rm -rf "$demo_home"
mkdir -p "$demo_home/shop"
export HOME=$demo_home
unset MEMORYMESH_HOME MEMORYMESH_PROJECT_ROOT
cd "$demo_home/shop"
git init -q .

pause() { if [ "$delay" != 0 ]; then sleep "${1:-1}"; fi; }

say() {
    printf '\n\033[1;33m%s\033[0m\n' "$1"
    pause 1.2
}

type_and_run() {
    printf '\033[1;32m~/shop $\033[0m '
    local i
    for ((i = 0; i < ${#1}; i++)); do
        printf '%s' "${1:i:1}"
        if [ "$delay" != 0 ]; then sleep "$delay"; fi
    done
    printf '\n'
    eval "$1"
    pause 2
}

assistant() { python "$here/assistant.py" "$@"; pause 2; }

say "1. Give your AI tools one memory (here Claude Code; also Cursor, Gemini CLI, Codex CLI)"
type_and_run "memorymesh setup claude"
type_and_run "memorymesh status"

say "2. Monday, in Claude Code: \"I prefer small pull requests. We chose PostgreSQL for billing.\""
assistant claude-code remember '{"text": "User prefers small pull requests, under 200 lines"}'
assistant claude-code remember '{"text": "We decided to use PostgreSQL for billing because we need row locks"}'

say "3. Tuesday, a new session in another tool (Cursor): it already knows"
assistant cursor session_start '{"query": "open a pull request for the billing fix"}'

say "4. And it is all in two SQLite files you own"
type_and_run 'memorymesh recall "which database for billing?"'

pause 4  # the last frame stays up before the picture loops
