// The model host for the e2e test: files over HTTP on 127.0.0.1 with Range support, throttled
// so that the progress bar visibly moves. Bounded: it serves only the files given, only on
// loopback, and the test closes it.
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";

/** Resolves when `res` can take more data, or is closed. */
function drained(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

export function serveModels(files, bytesPerSecond) {
  const server = createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url, "http://x").pathname.slice(1));
    const path = files[name];
    if (!path) {
      res.writeHead(404).end();
      return;
    }
    const size = statSync(path).size;
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range) start = Math.min(Number(range[1]), size);
    const headers = { "content-length": String(size - start), "accept-ranges": "bytes" };
    if (start > 0) {
      res.writeHead(206, { ...headers, "content-range": `bytes ${start}-${size - 1}/${size}` });
    } else {
      res.writeHead(200, headers);
    }
    // Write chunk by chunk, waiting for the socket to drain and for the rate to allow the
    // next one (pause() on a piped stream does not hold it back: the pipe resumes it).
    const stream = createReadStream(path, { start, highWaterMark: 1 << 20 });
    let closed = false;
    req.on("close", () => {
      closed = true;
      stream.destroy();
    });
    (async () => {
      const began = Date.now();
      let sent = 0;
      for await (const chunk of stream) {
        if (closed) return;
        if (!res.write(chunk)) await drained(res);
        sent += chunk.length;
        const due = (sent / bytesPerSecond) * 1000 - (Date.now() - began);
        if (due > 0) await new Promise((r) => setTimeout(r, due));
      }
      res.end();
    })().catch(() => res.destroy());
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
