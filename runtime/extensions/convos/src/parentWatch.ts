/**
 * If the supervisor dies without stopping us (SIGKILL, OOM), the gateway must not linger holding the instance's
 * XMTP database and state dir: a new supervisor would start a second gateway on the same state.
 */
export const watchSupervisor = (
  supervisorPid: number,
  onGone: () => void,
  options: { readonly intervalMs?: number; readonly isAlive?: (pid: number) => boolean } = {},
): (() => void) => {
  const isAlive =
    options.isAlive ??
    ((pid: number) => {
      try {
        process.kill(pid, 0)
        return true
      } catch (error) {
        // EPERM: it exists but is not ours to signal.
        return (error as NodeJS.ErrnoException).code === "EPERM"
      }
    })
  const timer = setInterval(() => {
    if (!isAlive(supervisorPid)) {
      clearInterval(timer)
      onGone()
    }
  }, options.intervalMs ?? 2_000)
  timer.unref()
  return () => clearInterval(timer)
}
