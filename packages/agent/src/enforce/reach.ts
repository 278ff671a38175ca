/**
 * Reachability as the host sees it: a TCP connection attempt, used to verify that isolation and
 * blocks took (the server still answers, a probe address no longer does).
 */
import { connect } from 'node:net';
import { checkPort, parseAddress } from './nft.js';

/** True when a TCP connection to `address:port` opens within `timeoutMs`; the connection is closed at once. */
export function canConnect(address: string, port: number, timeoutMs: number): Promise<boolean> {
  parseAddress(address, 'canConnect address');
  checkPort(port, 'canConnect port');
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    const finish = (reached: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reached);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}
