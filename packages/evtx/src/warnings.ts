/** A problem found while reading that did not stop the reading: the good data around it is kept. */
export interface EvtxWarning {
  /** Zero-based chunk index, or -1 for the file header. */
  chunk: number;
  /** Absolute byte offset in the file where the problem is. */
  offset: number;
  message: string;
}

/** Raised for input that cannot be read as EVTX at all (not an EVTX file, unreadable file). */
export class EvtxError extends Error {
  override name = 'EvtxError';
}

/** Raised inside the BinXML decoder; caught per record and turned into a warning. */
export class BinXmlError extends Error {
  override name = 'BinXmlError';
  constructor(
    message: string,
    /** Chunk-relative offset of the offending byte. */
    readonly position: number,
  ) {
    super(message);
  }
}
