// Shared by the gate's Node tests: starts anvil (npm @foundry-rs/anvil) on a
// free loopback port, waits until it answers eth_chainId, and returns its URL
// and a stop() that ends it by its PID (also called at process exit).
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";

const freePort = () => new Promise((res) => {
  const s = net.createServer();
  s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => res(p)); });
});

export async function startAnvil(sourceDir) {
  const port = await freePort();
  const nm = `${sourceDir}/tests/node/node_modules`;
  const native = `${nm}/@foundry-rs/anvil-linux-amd64/bin/anvil`;
  const bin = fs.existsSync(native) ? native : `${nm}/.bin/anvil`;
  const child = spawn(bin, ["--host", "127.0.0.1", "--port", String(port), "--silent"], { stdio: "ignore" });
  const stop = () => { try { process.kill(child.pid); } catch {} };
  process.on("exit", stop);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }) });
      if (r.ok) break;
    } catch {}
    if (i > 100) { stop(); throw new Error("anvil did not start"); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, stop };
}
