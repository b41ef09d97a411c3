/**
 * The smallest PostgreSQL client the bench needs: connect over TCP with
 * trust authentication (protocol 3.0), run simple queries, learn the backend's
 * pid, hold the connection open. One socket per backend in the bench's own
 * process is the cheapest way to keep 200 backends connected and idle (200
 * psql processes would add 200 processes and ~2 GiB of RSS of their own to the
 * machine being measured), and needs no client package.
 * Protocol: https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
import * as net from "node:net";

export class PgError extends Error {}

interface Pending {
  rows: string[][];
  error: string | undefined;
  resolve: (rows: string[][]) => void;
  reject: (err: Error) => void;
}

export class PgConnection {
  /** The backend's pid (BackendKeyData). */
  backendPid = 0;
  private buf: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;
  private closed = false;

  private constructor(private readonly sock: net.Socket) {}

  /** Connect as `user` to `database`; resolves once the server is ready for queries. */
  static connect(host: string, port: number, user: string, database: string, timeoutMs = 10_000): Promise<PgConnection> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port });
      const conn = new PgConnection(sock);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new PgError(`connect to ${host}:${port}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      conn.pending = {
        rows: [],
        error: undefined,
        resolve: () => {
          clearTimeout(timer);
          resolve(conn);
        },
        reject: (err) => {
          clearTimeout(timer);
          sock.destroy();
          reject(err);
        },
      };
      sock.on("error", (err) => conn.fail(new PgError(`${host}:${port}: ${err.message}`)));
      sock.on("close", () => conn.fail(new PgError(`${host}:${port}: connection closed`)));
      sock.on("data", (d: Buffer) => conn.onData(d));
      sock.on("connect", () => {
        const params = Buffer.from(`user\0${user}\0database\0${database}\0application_name\0pagelens-bench\0\0`);
        const head = Buffer.alloc(8);
        head.writeInt32BE(8 + params.length, 0);
        head.writeInt32BE(196608, 4); // protocol 3.0
        sock.write(Buffer.concat([head, params]));
      });
    });
  }

  /** Run one simple query; resolves with its rows as text (the last statement's, for several). */
  query(sql: string): Promise<string[][]> {
    if (this.closed) return Promise.reject(new PgError("query on a closed connection"));
    if (this.pending) return Promise.reject(new PgError("one query at a time"));
    return new Promise((resolve, reject) => {
      this.pending = { rows: [], error: undefined, resolve, reject };
      const body = Buffer.from(sql + "\0");
      const head = Buffer.alloc(5);
      head.write("Q", 0);
      head.writeInt32BE(4 + body.length, 1);
      this.sock.write(Buffer.concat([head, body]));
    });
  }

  /** Say goodbye (Terminate) and close the socket; the backend exits. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.sock.end(Buffer.from([0x58, 0, 0, 0, 4])); // 'X', length 4
    } catch {
      this.sock.destroy();
    }
  }

  private fail(err: Error): void {
    this.closed = true;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(p.error !== undefined ? new PgError(p.error) : err);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    while (this.buf.length >= 5) {
      const len = this.buf.readInt32BE(1);
      if (this.buf.length < 1 + len) return;
      const type = String.fromCharCode(this.buf[0]!);
      const body = this.buf.subarray(5, 1 + len);
      this.buf = this.buf.subarray(1 + len);
      this.onMessage(type, body);
    }
  }

  private onMessage(type: string, body: Buffer): void {
    const p = this.pending;
    switch (type) {
      case "R": {
        const code = body.readInt32BE(0);
        if (code !== 0) this.fail(new PgError(`the server asks for authentication method ${code}; the bench's server uses trust`));
        break;
      }
      case "K":
        this.backendPid = body.readInt32BE(0);
        break;
      case "D": {
        const n = body.readInt16BE(0);
        const row: string[] = [];
        let off = 2;
        for (let i = 0; i < n; i++) {
          const l = body.readInt32BE(off);
          off += 4;
          row.push(l < 0 ? "" : body.toString("utf8", off, off + l));
          if (l > 0) off += l;
        }
        p?.rows.push(row);
        break;
      }
      case "T": // a new result set: keep only the last statement's rows
        if (p) p.rows = [];
        break;
      case "E": {
        const msg = /(?:^|\0)M([^\0]*)/.exec(body.toString("utf8"))?.[1] ?? "error";
        if (p) p.error = msg;
        // Before ReadyForQuery (e.g. at start-up) the server closes the connection after an error.
        break;
      }
      case "Z":
        this.pending = undefined;
        if (p?.error !== undefined) p.reject(new PgError(p.error));
        else p?.resolve(p.rows);
        break;
      default: // S (ParameterStatus), N (Notice), C (CommandComplete), I (EmptyQuery): nothing to do
        break;
    }
  }
}
