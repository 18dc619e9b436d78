# Sourced by the tests that run the service's flow on the EVM gate: starts a
# fresh anvil (loopback, stopped by PID at exit), writes anvil's first funded
# account as funded.key and deployer.key (it pays for the deployment and
# relays the owners' signed approvals), and loads lib.sh.
. "$SR_SOURCE_DIR/tests/interop/gate/evm_anvil.sh"
anvil_start
umask 077
echo "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" > funded.key
umask 022
DEPLOY_ARGS=(); SEND_ARGS=(--sender-key "$PWD/funded.key")
. "$SR_SOURCE_DIR/tests/interop/serve/lib.sh"
trap 'anvil_stop; cleanup' EXIT
cp funded.key deployer.key
