/** Incidents: grouping alerts into incidents, scoring them, and the storyline of their events. */
export { INCIDENT_STATUSES, isClosed, type IncidentNote, type IncidentRecord, type IncidentStatus } from './record.js';
export { relationsOf, type AlertFacts, type Relations } from './relations.js';
export {
  GROUPING_VERSION,
  MAX_INCIDENT_HOSTS,
  MAX_INCIDENT_KEYS,
  MAX_INCIDENT_RULES,
  type GroupingState,
  type RuleTally,
} from './grouping-state.js';
export {
  IncidentGrouper,
  DEFAULT_INCIDENT_WINDOW_MS,
  DEFAULT_MAX_INCIDENTS,
  type IncidentDecision,
  type IncidentGrouperOptions,
  type RestoredIncident,
} from './grouper.js';
export {
  LEVEL_POINTS,
  MAX_SCORE,
  RAISING_SCORE,
  incidentScore,
  incidentSeverity,
  incidentTitle,
  rulePoints,
  type ScoreInput,
  type ScoredRule,
} from './score.js';
export {
  buildStoryline,
  DEFAULT_STORYLINE_NODES,
  type StoryEdge,
  type StoryEdgeType,
  type StoryEvent,
  type StoryNode,
  type StoryNodeType,
  type Storyline,
  type StorylineOptions,
} from './storyline.js';
export { incidentTimeline, type IncidentTimelineEntry } from './timeline.js';
