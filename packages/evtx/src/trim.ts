/**
 * `text` without trailing white space, as Rust's `trim_end` (Unicode White_Space) leaves it:
 * evtx_dump trims string values (Windows pads some, e.g. LogonProcessName "User32 "), and rules
 * written against its output compare trimmed values. Plain string code: a regex anchored at the
 * end rescans every run of spaces, which a crafted value can make quadratic.
 */
export function trimTrailingSpace(text: string): string {
  let end = text.length;
  while (end > 0 && isWhiteSpace(text.charCodeAt(end - 1))) end--;
  return end === text.length ? text : text.slice(0, end);
}

function isWhiteSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return (
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}
