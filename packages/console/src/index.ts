/**
 * Where the built console is: `firebreak serve` hands this folder to the server, which serves it at `/`.
 * It exists after `npm run build` (Vite writes it); the server says so when it is missing.
 */
import { fileURLToPath } from 'node:url';

export const CONSOLE_DIR = fileURLToPath(new URL('./web/', import.meta.url));
