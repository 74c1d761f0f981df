/** Bad command-line input (exit 2, with the usage text). Each command's own usage errors extend it. */
export class UsageError extends Error {}
