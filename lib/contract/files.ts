// Reading a file named by configuration (a counters file, a web config, a certificate): off the
// event loop, a regular file only (a FIFO is opened non-blocking and refused instead of waiting
// for a writer; a device such as /dev/zero, a socket or a directory is refused), and at most
// `maxBytes`, read through the very descriptor that was checked.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export class FileReadError extends Error {
  constructor(
    readonly path: string,
    /** what went wrong, for a message that names the file elsewhere */
    readonly why: string,
  ) {
    super(`${path}: ${why}`);
    this.name = 'FileReadError';
  }
}

export async function readRegularFile(path: string, maxBytes: number): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FileReadError(path, code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new FileReadError(path, 'it is a directory');
    if (!st.isFile()) {
      const what = st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a regular file';
      throw new FileReadError(path, `it is ${what}, not a regular file`);
    }
    if (st.size > maxBytes) throw new FileReadError(path, `it is ${st.size} bytes, more than the ${maxBytes} accepted`);
    // at most maxBytes + 1 bytes whatever the size said (the file may grow meanwhile)
    const buf = Buffer.allocUnsafe(maxBytes + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > maxBytes) throw new FileReadError(path, `it is more than the ${maxBytes} bytes accepted`);
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close().catch(() => {});
  }
}
