/** Where the runtime reports what an operator should know (a dropped batch, a refused command, a lost connection). */
export type Log = (message: string) => void;

export const stderrLog: Log = (message) => {
  process.stderr.write(`firebreak-agent: ${message}\n`);
};
