/**
 * The storyline graph: each host's process tree, left to right, with what the processes loaded,
 * wrote, resolved and reached around it; what the alerts' evidence touches is outlined in red. A
 * slider replays it step by step. Cytoscape is loaded on first use (it is most of the console's
 * weight), and draws to a canvas: labels from event data are never HTML.
 */
import type { Core, ElementDefinition, StylesheetJson } from 'cytoscape';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Alert } from '../api';
import { KeyValues, LevelBadge } from '../components/ui';
import { plural, text, time } from '../format';
import {
  ancestry,
  buildModel,
  drawnNodes,
  LABEL_CHARS,
  NODE_TYPES,
  origin,
  type StoryModel,
  type StoryNode,
  type StoryNodeType,
  type StorylineGraph,
  treeLayout,
} from './storyline-model';

const COLOURS: Record<StoryNodeType, string> = {
  host: '#e6edf3',
  process: '#4c8dff',
  user: '#9aa8b5',
  module: '#2bb5a8',
  file: '#d4a657',
  domain: '#c77dff',
  ip: '#ef8fd0',
};
const SHAPES: Record<StoryNodeType, string> = {
  host: 'round-rectangle',
  process: 'ellipse',
  user: 'round-pentagon',
  module: 'round-hexagon',
  file: 'round-tag',
  domain: 'round-diamond',
  ip: 'round-triangle',
};
const TYPE_NAMES: Record<StoryNodeType, string> = {
  host: 'hosts',
  process: 'processes',
  user: 'users',
  module: 'modules',
  file: 'files',
  domain: 'domains',
  ip: 'IPs',
};
/** Accounts join most processes to a few nodes: shown on request, and in each process's details. */
const DEFAULT_TYPES: StoryNodeType[] = NODE_TYPES.filter((type) => type !== 'user');
const CRITICAL = '#ff4d5e';
const ACCENT = '#ff7a1a';
const PLAY_STEP_MS = 220;

type CytoscapeModule = Awaited<ReturnType<typeof importCytoscape>>;
const importCytoscape = () => import('cytoscape');
let cytoscapeModule: Promise<CytoscapeModule> | undefined;
/** Cytoscape, fetched once: the incident page asks for it as it opens, while its data loads. */
export function loadCytoscape(): Promise<CytoscapeModule> {
  cytoscapeModule ??= importCytoscape();
  return cytoscapeModule;
}

const STYLE: StylesheetJson = [
  {
    selector: 'node',
    style: {
      label: 'data(label)',
      color: '#c9d4de',
      'font-size': 12,
      'text-valign': 'center',
      'text-halign': 'right',
      'text-margin-x': 4,
      'text-max-width': `${LABEL_CHARS * 6.6}px`,
      'text-background-color': '#0b1015',
      'text-background-opacity': 0.75,
      'text-background-padding': '1px',
      'text-wrap': 'ellipsis',
      width: 16,
      height: 16,
      'border-width': 0,
    },
  },
  ...NODE_TYPES.map((type) => ({
    selector: `node[kind = "${type}"]`,
    style: { 'background-color': COLOURS[type], shape: SHAPES[type] as 'ellipse' },
  })),
  { selector: 'node[kind = "host"]', style: { width: 34, height: 20, 'font-size': 13, 'font-weight': 'bold', color: '#ffffff' } },
  {
    selector: 'node.flagged',
    style: { 'border-width': 3, 'border-color': CRITICAL, width: 22, height: 22, color: '#ffb3ba', 'font-weight': 'bold', 'font-size': 13 },
  },
  { selector: 'node:selected', style: { 'border-width': 4, 'border-color': ACCENT, 'overlay-opacity': 0 } },
  { selector: '.fresh', style: { 'underlay-color': ACCENT, 'underlay-opacity': 0.45, 'underlay-padding': 6 } },
  {
    selector: 'edge',
    style: {
      width: 1.2,
      'line-color': '#4a5a6b',
      'target-arrow-color': '#4a5a6b',
      'target-arrow-shape': 'triangle',
      'arrow-scale': 0.6,
      'curve-style': 'bezier',
      opacity: 0.8,
    },
  },
  {
    selector: 'edge[kind = "spawned"], edge[kind = "ran_on"]',
    style: { 'curve-style': 'taxi', 'taxi-direction': 'rightward', 'taxi-turn': '50%', width: 1.6, 'line-color': '#7d8fa3' },
  },
  { selector: 'edge[kind = "ran_on"]', style: { 'line-style': 'dashed', 'line-color': '#5b6b7c', 'target-arrow-shape': 'none' } },
  { selector: 'edge[kind = "loaded"]', style: { 'line-color': COLOURS.module, 'target-arrow-color': COLOURS.module } },
  { selector: 'edge[kind = "wrote"]', style: { 'line-color': COLOURS.file, 'target-arrow-color': COLOURS.file } },
  { selector: 'edge[kind = "connected"]', style: { 'line-color': COLOURS.ip, 'target-arrow-color': COLOURS.ip, 'line-style': 'dashed' } },
  {
    selector: 'edge[kind = "resolved"]',
    style: { 'line-color': COLOURS.domain, 'target-arrow-color': COLOURS.domain, 'line-style': 'dotted' },
  },
  { selector: 'edge[kind = "ran_as"]', style: { 'line-color': COLOURS.user, 'target-arrow-color': COLOURS.user, 'line-style': 'dotted' } },
  { selector: 'edge.flagged', style: { 'line-color': CRITICAL, 'target-arrow-color': CRITICAL, width: 2.4, opacity: 1 } },
  { selector: 'node.faded', style: { opacity: 0.3 } },
  { selector: 'edge.faded', style: { opacity: 0.12 } },
  { selector: '.hidden', style: { display: 'none' } },
];

function elements(model: StoryModel): ElementDefinition[] {
  return [
    ...model.nodes.map((node) => ({
      group: 'nodes' as const,
      data: { id: node.id, label: node.label, kind: node.type },
      classes: model.flagged.has(node.id) ? 'flagged' : '',
    })),
    ...model.edges.map((edge) => ({
      group: 'edges' as const,
      data: { id: edge.id, source: edge.from, target: edge.to, kind: edge.type },
      classes: edge.flagged ? 'flagged' : '',
    })),
  ];
}

interface Props {
  graph: StorylineGraph;
  alerts: Alert[];
  /** Shows these events in the incident's timeline. */
  onShowEvents(eventIds: number[], label: string): void;
}

export function Storyline({ graph, alerts, onShowEvents }: Props) {
  // Reloads bring new objects with the same content: the graph is redrawn (and its zoom lost) only when the content changed.
  const graphKey = useMemo(() => JSON.stringify(graph), [graph]);
  const alertsKey = alerts.map((alert) => `${alert.id}:${alert.event_ids.join(',')}`).join(';');
  const model = useMemo(() => buildModel(graph, alerts), [graphKey, alertsKey]);
  const last = model.moments.length - 1;
  const [types, setTypes] = useState<ReadonlySet<StoryNodeType>>(new Set(DEFAULT_TYPES));
  const [scope, setScope] = useState<'story' | 'all'>(model.story.size > 0 ? 'story' : 'all');
  const [step, setStep] = useState(last);
  const [playing, setPlaying] = useState(false);
  const [selected, setSelected] = useState<string>();
  const [cy, setCy] = useState<Core>();
  const [loadError, setLoadError] = useState<string>();
  const container = useRef<HTMLDivElement>(null);

  // A graph that grew while the replay was at its end stays at the end.
  const previousLast = useRef(last);
  useEffect(() => {
    setStep((current) => (current >= previousLast.current ? last : Math.min(current, last)));
    previousLast.current = last;
  }, [last]);

  useEffect(() => {
    if (model.nodes.length === 0) return;
    let created: Core | undefined;
    let cancelled = false;
    loadCytoscape().then(
      ({ default: cytoscape }) => {
        if (cancelled || !container.current) return;
        created = cytoscape({ container: container.current, elements: elements(model), style: STYLE, minZoom: 0.1, maxZoom: 4 });
        created.on('tap', 'node', (event) => setSelected(event.target.id() as string));
        created.on('tap', (event) => event.target === created && setSelected(undefined));
        setCy(created);
      },
      (error: Error) => setLoadError(`The graph library did not load: ${error.message}`),
    );
    return () => {
      cancelled = true;
      created?.destroy();
      setCy(undefined);
    };
  }, [model]);

  useEffect(() => {
    const element = container.current;
    if (!cy || cy.destroyed() || !element) return;
    const observer = new ResizeObserver(() => void (cy.destroyed() || cy.resize()));
    observer.observe(element);
    return () => observer.disconnect();
  }, [cy]);

  // The layout places every drawn node, whatever the replay time: a node keeps its place as the replay reveals it.
  const drawn = useMemo(() => drawnNodes(model, scope, types), [model, scope, types]);
  const drawnIds = useMemo(() => new Set(drawn.map((node) => node.id)), [drawn]);
  useEffect(() => {
    if (!cy || cy.destroyed()) return;
    const shown = cy.nodes().filter((node) => drawnIds.has(node.id()));
    const laidOut = shown.union(shown.edgesWith(shown));
    const positions = treeLayout(model, drawnIds);
    // Fitted to every drawn node: the replay's hiding comes back right after, in the effect below.
    cy.batch(() => shown.forEach((node) => void node.position(positions.get(node.id()) ?? { x: 0, y: 0 }).removeClass('hidden')));
    cy.fit(laidOut, 16);
  }, [cy, drawnIds]);

  const at = model.moments[step] ?? Infinity;
  const visibleNodes = useMemo(() => drawn.filter((node) => node.first <= at), [drawn, at]);

  useEffect(() => {
    if (!cy || cy.destroyed()) return;
    const visible = new Set(visibleNodes.map((node) => node.id));
    const replaying = step < last;
    cy.batch(() => {
      cy.nodes().forEach((node) => {
        const story = model.byId.get(node.id())!;
        node.toggleClass('hidden', !visible.has(story.id));
        node.toggleClass('fresh', replaying && story.first === at);
      });
      for (const edge of model.edges) {
        const element = cy.getElementById(edge.id);
        element.toggleClass('hidden', edge.time > at || !visible.has(edge.from) || !visible.has(edge.to));
        element.toggleClass('fresh', replaying && edge.time === at);
      }
    });
  }, [cy, visibleNodes]);

  useEffect(() => {
    if (!cy || cy.destroyed()) return;
    cy.nodes(':selected').unselect();
    cy.elements().removeClass('faded');
    if (!selected) return;
    const node = cy.getElementById(selected);
    node.select();
    cy.elements().not(node.closedNeighborhood()).addClass('faded');
    // Chosen from the side panel: bring it into view if it is off screen.
    const box = node.renderedBoundingBox({});
    if (box.x2 < 0 || box.y2 < 0 || box.x1 > cy.width() || box.y1 > cy.height()) cy.animate({ center: { eles: node } }, { duration: 250 });
  }, [cy, selected]);

  useEffect(() => {
    if (!playing) return;
    const timer = setInterval(() => {
      setStep((current) => {
        if (current >= last) {
          setPlaying(false);
          return current;
        }
        return current + 1;
      });
    }, PLAY_STEP_MS);
    return () => clearInterval(timer);
  }, [playing, last]);

  const play = (): void => {
    if (playing) return setPlaying(false);
    if (step >= last) setStep(0);
    setPlaying(true);
  };

  const select = (id: string | undefined): void => {
    if (id) {
      const node = model.byId.get(id);
      // Picking a node the filters or the replay hide shows it.
      if (node && !types.has(node.type)) setTypes(new Set([...types, node.type]));
      if (node && !model.story.has(id)) setScope('all');
      if (node && node.first > at) setStep(last);
    }
    setSelected(id);
  };

  const counts = useMemo(() => countTypes(model.nodes.filter((node) => scope === 'all' || model.story.has(node.id))), [model, scope]);

  return (
    <div class="story">
      <div class="story-main">
        <div class="story-stage" data-testid="storyline" data-nodes={cy ? visibleNodes.length : 0} data-total={model.nodes.length}>
          {model.nodes.length === 0 ? (
            <div class="empty">
              The incident's events build no storyline: it needs process, network, image-load, file or DNS events (Sysmon 1, 3, 7, 11, 22;
              Security 4688; auditd execve).
            </div>
          ) : (
            <div class="story-canvas" ref={container} aria-label="Storyline graph" role="img" />
          )}
          {loadError && <div class="error story-overlay">{loadError}</div>}
          {model.nodes.length > 0 && !cy && !loadError && <div class="loading story-overlay">Drawing the storyline…</div>}
          {model.nodes.length > 0 && (
            <GraphTools cy={cy} scope={scope} setScope={setScope} story={model.story.size} flagged={model.flagged.size} />
          )}
        </div>
        <Legend counts={counts} types={types} setTypes={setTypes} />
        <div class="story-replay">
          <button class="small" onClick={play} aria-label={playing ? 'Pause the replay' : 'Replay the storyline'} disabled={last < 1}>
            {playing ? '❚❚ Pause' : '▶ Replay'}
          </button>
          <input
            type="range"
            min={0}
            max={Math.max(0, last)}
            value={step}
            aria-label="Storyline time"
            aria-valuetext={time(at)}
            disabled={last < 1}
            onInput={(event) => {
              setPlaying(false);
              setStep(Number((event.target as HTMLInputElement).value));
            }}
          />
          <span class="story-time mono">{Number.isFinite(at) ? time(at) : ''}</span>
          <span class="muted story-count">
            {visibleNodes.length} of {plural(drawn.length, 'node')}
          </span>
          {step < last && (
            <button class="small" onClick={() => (setPlaying(false), setStep(last))}>
              Show all
            </button>
          )}
        </div>
        {graph.truncated && (
          <div class="hint">The graph was cut at its size limit: the earliest events are kept, later ones are in the timeline.</div>
        )}
      </div>
      <aside class="story-side card" aria-label="Storyline details">
        {selected && model.byId.has(selected) ? (
          <NodeDetails model={model} node={model.byId.get(selected)!} alerts={alerts} select={select} onShowEvents={onShowEvents} />
        ) : (
          <Summary model={model} alerts={alerts} select={select} />
        )}
      </aside>
    </div>
  );
}

/** Over the graph: which nodes are drawn, the key to the red outline, zoom. */
function GraphTools(props: {
  cy: Core | undefined;
  scope: 'story' | 'all';
  setScope(scope: 'story' | 'all'): void;
  story: number;
  flagged: number;
}) {
  const { cy, scope, setScope } = props;
  return (
    <>
      <div class="story-scope" role="group" aria-label="Nodes drawn">
        <button class="small" aria-pressed={scope === 'story'} onClick={() => setScope('story')} disabled={props.story === 0}>
          Alert story
        </button>
        <button class="small" aria-pressed={scope === 'all'} onClick={() => setScope('all')}>
          Everything around it
        </button>
      </div>
      {props.flagged > 0 && (
        <span class="story-flag-key">
          <span class="story-swatch flagged" /> in an alert's evidence
        </span>
      )}
      <div class="story-zoom" role="group" aria-label="Zoom">
        <button class="small" onClick={() => zoom(cy, 1.25)} disabled={!cy} aria-label="Zoom in">
          +
        </button>
        <button class="small" onClick={() => zoom(cy, 0.8)} disabled={!cy} aria-label="Zoom out">
          −
        </button>
        <button class="small" onClick={() => cy?.fit(cy.elements(':visible'), 16)} disabled={!cy}>
          Fit
        </button>
      </div>
    </>
  );
}

function zoom(cy: Core | undefined, factor: number): void {
  if (cy) cy.zoom({ level: cy.zoom() * factor, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
}

function countTypes(nodes: StoryNode[]): Map<StoryNodeType, number> {
  const counts = new Map<StoryNodeType, number>();
  for (const node of nodes) counts.set(node.type, (counts.get(node.type) ?? 0) + 1);
  return counts;
}

function Legend(props: {
  counts: Map<StoryNodeType, number>;
  types: ReadonlySet<StoryNodeType>;
  setTypes(types: ReadonlySet<StoryNodeType>): void;
}) {
  const toggle = (type: StoryNodeType): void => {
    const next = new Set(props.types);
    if (next.has(type)) next.delete(type);
    else next.add(type);
    props.setTypes(next);
  };
  return (
    <div class="story-legend" role="group" aria-label="Node types shown">
      {NODE_TYPES.filter((type) => props.counts.has(type)).map((type) => (
        <label key={type}>
          <input type="checkbox" checked={props.types.has(type)} onChange={() => toggle(type)} />
          <span class={`story-swatch kind-${type}`} style={{ background: COLOURS[type] }} />
          {TYPE_NAMES[type]} {props.counts.get(type)}
        </label>
      ))}
    </div>
  );
}

function NodeButton({ model, id, select }: { model: StoryModel; id: string; select(id: string): void }) {
  const node = model.byId.get(id);
  if (!node) return null;
  return (
    <button class={`node-link${model.flagged.has(id) ? ' flagged' : ''}`} onClick={() => select(id)} title={nodeTitle(node)}>
      <span class="story-swatch" style={{ background: COLOURS[node.type] }} />
      {node.label}
    </button>
  );
}

function nodeTitle(node: StoryNode): string {
  return String(node.props.commandLine ?? node.props.path ?? node.props.image ?? node.label);
}

/** With nothing selected: where the story starts and everything the alerts point at. */
function Summary({ model, alerts, select }: { model: StoryModel; alerts: Alert[]; select(id: string): void }) {
  const start = origin(model, alerts);
  const flagged = [...model.flagged].sort((a, b) => model.byId.get(a)!.first - model.byId.get(b)!.first);
  return (
    <div class="card-body story-panel">
      <h2>Where it starts</h2>
      {start ? (
        <>
          <p class="story-origin">
            <NodeButton model={model} id={start} select={select} /> on {text(model.byId.get(start)!.props.host)} at{' '}
            {time(model.byId.get(start)!.first)}
          </p>
          <div class="story-chain" aria-label="Its parents">
            {ancestry(model, start)
              .slice(1)
              .map((id) => (
                <span key={id}>
                  <span class="muted">←</span> <NodeButton model={model} id={id} select={select} />
                </span>
              ))}
          </div>
        </>
      ) : (
        <p class="muted">No process in the graph is part of an alert's evidence.</p>
      )}
      <h3>In the alerts' evidence ({flagged.length})</h3>
      {flagged.length === 0 ? (
        <p class="muted">Nothing.</p>
      ) : (
        <ul class="story-list">
          {flagged.map((id) => (
            <li key={id}>
              <NodeButton model={model} id={id} select={select} />
              <span class="muted mono">{time(model.byId.get(id)!.first).slice(11)}</span>
            </li>
          ))}
        </ul>
      )}
      <p class="hint">Click a node, or a name here, for its details. The slider replays the story step by step.</p>
    </div>
  );
}

const PROP_NAMES: Record<string, string> = {
  image: 'Image',
  commandLine: 'Command line',
  pid: 'PID',
  guid: 'Process GUID',
  host: 'Host',
  path: 'Path',
  hash: 'Hash',
};
const LINK_WORDS: Record<string, [outgoing: string, incoming: string]> = {
  loaded: ['loaded', 'loaded by'],
  wrote: ['wrote', 'written by'],
  connected: ['connected to', 'reached by'],
  resolved: ['resolved', 'resolved by'],
  ran_as: ['ran as', 'ran'],
};
const SHOWN_LINKS = 40;

function NodeDetails(props: {
  model: StoryModel;
  node: StoryNode;
  alerts: Alert[];
  select(id: string | undefined): void;
  onShowEvents(eventIds: number[], label: string): void;
}) {
  const { model, node, select } = props;
  const parent = model.parentOf.get(node.id);
  const children = model.childrenOf.get(node.id) ?? [];
  const links = model.linksOf.get(node.id) ?? [];
  const alertIds = new Set(model.alertsOf.get(node.id) ?? []);
  const related = props.alerts.filter((alert) => alertIds.has(alert.id));
  const events = model.eventsOf.get(node.id) ?? [];
  const grouped = new Map<string, string[]>();
  for (const link of links) {
    const word = LINK_WORDS[link.type]?.[link.outgoing ? 0 : 1] ?? link.type;
    grouped.set(word, [...(grouped.get(word) ?? []), link.node]);
  }
  return (
    <div class="card-body story-panel">
      <div class="story-panel-head">
        <h2>
          <span class="story-swatch" style={{ background: COLOURS[node.type] }} /> {node.label}
        </h2>
        <button class="small" onClick={() => select(undefined)} aria-label="Close node details">
          ✕
        </button>
      </div>
      <p class="muted">
        {node.type}
        {model.flagged.has(node.id) && <span class="story-flag"> · in an alert's evidence</span>}
      </p>
      <KeyValues
        entries={[
          ...Object.entries(node.props).map(([key, value]): [string, string] => [PROP_NAMES[key] ?? key, text(value)]),
          ['First seen', time(node.first)],
          ['Last seen', time(node.last)],
        ]}
      />
      {parent && (
        <>
          <h3>Started by</h3>
          <NodeButton model={model} id={parent} select={select} />
        </>
      )}
      {children.length > 0 && (
        <>
          <h3>Started ({children.length})</h3>
          <div class="story-chips">
            {children.slice(0, SHOWN_LINKS).map((id) => (
              <NodeButton key={id} model={model} id={id} select={select} />
            ))}
          </div>
        </>
      )}
      {[...grouped].map(([word, ids]) => (
        <div key={word}>
          <h3>
            {word[0]!.toUpperCase() + word.slice(1)} ({ids.length})
          </h3>
          <div class="story-chips">
            {ids.slice(0, SHOWN_LINKS).map((id) => (
              <NodeButton key={id} model={model} id={id} select={select} />
            ))}
          </div>
        </div>
      ))}
      {related.length > 0 && (
        <>
          <h3>Alerts ({related.length})</h3>
          <ul class="story-list">
            {related.map((alert) => (
              <li key={alert.id}>
                <span>
                  <LevelBadge level={alert.level} /> {alert.rule_title} <span class="muted">{alert.computer}</span>
                </span>
              </li>
            ))}
          </ul>
        </>
      )}
      {events.length > 0 && (
        <p>
          <button class="small" onClick={() => props.onShowEvents(events, node.label)}>
            Show its {plural(events.length, 'event')} in the timeline
          </button>
        </p>
      )}
    </div>
  );
}
