/** An error with the HTTP status and message the client gets (other errors become a bare 500). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, message);
export const notFound = (what: string): HttpError => new HttpError(404, `${what} not found`);
