/** Bad command-line input (exit 2, with the usage text): every command throws it; main() prints it. */
export class UsageError extends Error {}
