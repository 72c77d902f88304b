#!/usr/bin/env bash
# Installs Synapse, the Matrix homeserver the matrix channel's tests run
# against, into a virtual environment of its own (.venv-synapse at the root
# of the checkout), so its pinned dependencies never touch the project's.
# Synapse is a test server only: nothing of agentdesk imports or ships it.
#
#   bash tests/servers/install_synapse.sh            # install once (quick when present)
#   UPGRADE=1 bash tests/servers/install_synapse.sh  # try the newest release (tests pin SYNAPSE_VERSION)
#   AGENTDESK_SYNAPSE_VENV=/elsewhere bash tests/servers/install_synapse.sh
#
# The tests find it in .venv-synapse, or through AGENTDESK_SYNAPSE_PYTHON (the
# python of any environment where matrix-synapse is installed).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${AGENTDESK_SYNAPSE_VENV:-.venv-synapse}
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
fi
if [ "${UPGRADE:-0}" = 1 ]; then
  "$venv/bin/python" -m pip install --quiet --upgrade matrix-synapse
else
  "$venv/bin/python" -m pip install --quiet "matrix-synapse==${SYNAPSE_VERSION:-1.163.2}"
fi
"$venv/bin/python" -c 'import synapse; print("synapse", synapse.__version__)'
