import { drainBuses } from '../../local/lambda-delivery';
import type { StandIns } from '../../local/stand-ins';

/** The local runtime's virtual clock moved to `at`: what is scheduled until then runs in time order (the schedules' firings), each followed by what it caused on the buses. */
export async function advanceTo(standIns: Pick<StandIns, 'scheduler' | 'clock' | 'buses'>, at: number): Promise<void> {
  for (let next = standIns.scheduler.peek(); next !== undefined && next <= at; next = standIns.scheduler.peek()) {
    const action = standIns.scheduler.next()!;
    standIns.clock.advanceTo(action.at);
    await action.run();
    await drainBuses(standIns.buses);
  }
  standIns.clock.advanceTo(at);
  await drainBuses(standIns.buses);
}
