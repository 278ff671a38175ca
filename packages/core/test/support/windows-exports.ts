/**
 * Test fixtures made from real EVTX records: the XML Windows shows for a record (as `wevtutil qe
 * /f:xml` and Event Viewer's "Save as XML" write it) and the document Winlogbeat 8 would ship for it.
 *
 * Winlogbeat reads an event as the XML Windows renders, so the document is built from the record's
 * XML with an XML parser of its own (saxes), independent of the reader under test, following what
 * Winlogbeat does: event_data by Name (an unnamed <Data> is param<position>), empty values dropped,
 * a name's first value kept, line breaks as LF with trailing ones trimmed; user_data as the one
 * element's children with its name as xml_name; event_id and record_id as text. Task, Opcode,
 * Keywords and log.level are rendered from the provider's message tables, which are not here, so
 * the document has none of them.
 */
import { SaxesParser } from 'saxes';

interface Node {
  name: string;
  attributes: Record<string, string>;
  children: (Node | string)[];
}

function parse(xml: string): Node {
  const parser = new SaxesParser();
  const root: Node = { name: '', attributes: {}, children: [] };
  const stack = [root];
  parser.on('opentag', (tag) => {
    const node: Node = { name: tag.name, attributes: { ...tag.attributes } as Record<string, string>, children: [] };
    stack.at(-1)!.children.push(node);
    stack.push(node);
  });
  parser.on('closetag', () => void stack.pop());
  parser.on('text', (text) => void stack.at(-1)!.children.push(text));
  parser.on('cdata', (text) => void stack.at(-1)!.children.push(text));
  parser.write(xml).close();
  return root.children.find((c): c is Node => typeof c !== 'string')!;
}

const elements = (node: Node | undefined): Node[] => (node?.children ?? []).filter((c): c is Node => typeof c !== 'string');
const child = (node: Node | undefined, name: string): Node | undefined => elements(node).find((c) => c.name === name);
const text = (node: Node | undefined): string | undefined =>
  node === undefined ? undefined : node.children.filter((c): c is string => typeof c === 'string').join('') || undefined;
const number = (value: string | undefined): number | undefined => (value === undefined ? undefined : Number(value));

/** Winlogbeat's `sys.RemoveWindowsLineEndings` (the XML parser has already made CRLF LF). */
const lineEndings = (value: string): string => value.replaceAll('\r\n', '\n').replace(/\n+$/, '');

/** The Winlogbeat 8 document for the event whose XML is `xml`. */
export function winlogbeatDocument(xml: string): Record<string, unknown> {
  const event = parse(xml);
  const system = child(event, 'System');
  const attribute = (element: string, name: string): string | undefined => child(system, element)?.attributes[name];
  const time = attribute('TimeCreated', 'SystemTime');
  const winlog: Record<string, unknown> = {
    api: 'wineventlog',
    channel: text(child(system, 'Channel')),
    computer_name: text(child(system, 'Computer')),
    event_id: text(child(system, 'EventID')),
    record_id: text(child(system, 'EventRecordID')),
    provider_name: attribute('Provider', 'Name'),
    provider_guid: attribute('Provider', 'Guid'),
    version: number(text(child(system, 'Version'))),
    process: { pid: number(attribute('Execution', 'ProcessID')), thread: { id: number(attribute('Execution', 'ThreadID')) } },
    activity_id: attribute('Correlation', 'ActivityID'),
    related_activity_id: attribute('Correlation', 'RelatedActivityID'),
    user: attribute('Security', 'UserID') === undefined ? undefined : { identifier: attribute('Security', 'UserID') },
    event_data: eventData(child(event, 'EventData')),
    user_data: userData(child(event, 'UserData')),
  };
  return JSON.parse(
    JSON.stringify({
      // Elasticsearch dates keep milliseconds.
      '@timestamp': time === undefined ? undefined : new Date(Date.parse(time)).toISOString(),
      agent: { type: 'winlogbeat', version: '8.15.0' },
      ecs: { version: '8.0.0' },
      event: { kind: 'event', code: winlog.event_id, provider: winlog.provider_name },
      host: { name: winlog.computer_name },
      winlog,
    }),
  ) as Record<string, unknown>;
}

function eventData(section: Node | undefined): Record<string, string> | undefined {
  if (!section) return undefined;
  const data: Record<string, string> = {};
  elements(section).forEach((element, i) => {
    const value = text(element) ?? '';
    const name = element.attributes.Name?.trim() || (element.name === 'Data' ? `param${i + 1}` : element.name);
    if (value !== '' && !Object.hasOwn(data, name)) data[name] = lineEndings(value);
  });
  return data;
}

function userData(section: Node | undefined): Record<string, string> | undefined {
  const [root] = elements(section);
  if (!root) return undefined;
  const data: Record<string, string> = { xml_name: root.name };
  const walk = (node: Node): void => {
    for (const element of elements(node)) {
      if (elements(element).length > 0) walk(element);
      else if ((text(element) ?? '') !== '' && !Object.hasOwn(data, element.name)) data[element.name] = lineEndings(text(element)!);
    }
  };
  walk(root);
  return data;
}

/** Records' XML as `wevtutil qe /f:xml` writes it: <Event> elements one after another, no root. */
export function wevtutilExport(xmls: readonly string[]): string {
  return xmls.map(withoutDeclaration).join('');
}

/** Records' XML as Event Viewer's "Save as XML" writes it: one <Events> root. */
export function eventViewerExport(xmls: readonly string[]): string {
  return `<?xml version="1.0" encoding="UTF-16"?>\r\n<Events>\r\n${xmls.map(withoutDeclaration).join('\r\n')}</Events>\r\n`;
}

function withoutDeclaration(xml: string): string {
  return xml.replace(/^<\?xml[^>]*\?>\s*/, '');
}

/** Text as UTF-16LE with a byte-order mark, as Windows tools write it. */
export function utf16le(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}
