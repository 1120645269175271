/** The streams a CLI writes to; injectable so tests run the CLIs in-process. */
export interface CliIo {
  stdout: { write(chunk: string): unknown }
  stderr: { write(chunk: string): unknown; isTTY?: boolean; columns?: number }
}
