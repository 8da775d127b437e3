/**
 * The detector list: importing this module registers every built-in rule module. Middlebox detectors
 * (analyzer/middlebox/) register themselves by adding one import line here (see docs/CONTRACTS.md).
 */
import './rules/opt.js';
import './rules/mpc.js';
import './rules/fallback.js';
import './rules/join.js';
import './rules/dss.js';
import './rules/addr.js';
import './rules/close.js';
import './rules/sequence.js';
import '../analyzer/middlebox/register.js';
import '../analyzer/middlebox/register.js';
