/**
 * Registers the middlebox detectors (MBX-001..009) with the conformance registry, so `mptcpscope check`
 * runs them in the same pass as the protocol rules. Imported once from conformance/detectors.ts.
 */
import { registerDetector } from '../../conformance/registry.js';
import { middleboxDetector } from './detectors.js';

registerDetector(middleboxDetector);
