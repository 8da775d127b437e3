/** Process exit codes shared by every command (documented in --help and README). */
export const ExitCode = {
  /** Analysed / the check or gate passed. */
  OK: 0,
  /** A check or gate failed (error-severity finding kept by the policy, or an expectation not met). */
  FAILED: 1,
  /** Bad usage, or unreadable / unsupported input. */
  BAD_INPUT: 2,
} as const;
