/**
 * Middlebox interference: one-vantage detectors (MBX-001..009, rule catalogue §2.10) and the two-vantage
 * `diff` of captures taken on either side of a device.
 */
export { MIDDLEBOX_RULES, MiddleboxSession, middleboxDetector } from './detectors.js';
export { type DiffOptions, type DiffResult, diffCaptures } from './diff.js';
export { STRIP_NOP_RUN, longestNopRun, payloadHash } from './option-space.js';
export { diffFindings, isMptcpOptionName } from './diff-findings.js';
