/**
 * Listening on a configured address, with the failure said in one line that names the
 * setting (a port in use was a stack trace, printed after the data dir had been migrated).
 */
import { createServer } from 'node:net';
import { ConfigError } from './errors.js';

/** The one-line explanation of a listen failure, or the error itself when it is not one we can explain. */
export function explainListenError(err: unknown, host: string, port: number, portSetting: string, addressSetting: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const where = `${host}:${port}`;
  if (code === 'EADDRINUSE')
    return new ConfigError([`${portSetting}: ${where} is already in use (another shiplog, or another program, listens there); stop it or choose another port, e.g. --${flag(portSetting)} ${port + 10}`]);
  if (code === 'EACCES') return new ConfigError([`${portSetting}: not allowed to listen on ${where} (ports below 1024 need privileges); choose a port above 1023`]);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new ConfigError([`${addressSetting}: ${host} is not an address of this machine`]);
  return err;
}

function flag(setting: string): string {
  return setting.replace(/^SHIPLOG_/, '').toLowerCase().replace(/_/g, '-');
}

/** Fails (as explainListenError) when host:port cannot be listened on now; port 0 always can. */
export async function checkCanListen(host: string, port: number, portSetting: string, addressSetting: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const s = createServer();
    s.once('error', (err) => reject(explainListenError(err, host, port, portSetting, addressSetting)));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve()));
  });
}
