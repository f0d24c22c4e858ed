/**
 * Synthetic FIT activity files written with Garmin's own Encoder, for edge cases no real
 * fixture covers (a 10-hour ultra at 1 Hz, no GPS, many laps, multisport, a watch that never
 * wrote its summary). Deterministic: same options, same bytes. Shared by tests and the benchmark.
 *
 * The route is a smooth pseudo-random wander (no real place is traced), one record per second.
 */
import { Encoder, Profile, type Mesg } from '@garmin/fitsdk';

export interface SyntheticSession {
  /** FIT sport as the SDK spells it (camelCase): `running`, `cycling`, `swimming`… */
  readonly sport?: string;
  readonly subSport?: string;
  /** Elapsed seconds; one record per second. */
  readonly seconds: number;
  /** Records carry positions (default true). */
  readonly gps?: boolean;
  /** Laps the session is split into (default 1). */
  readonly laps?: number;
  /** Records and the session carry heart rate (default true). */
  readonly heartRate?: boolean;
  /** Metres per second (default 3, an easy run). */
  readonly speedMps?: number;
  /** Leave total_distance and avg_heart_rate out of the session message (some devices do). */
  readonly omitSessionTotals?: boolean;
}

export interface SyntheticActivityOptions {
  /** Start of the first session (default 2024-05-01T06:00:00Z). */
  readonly start?: Date;
  readonly sessions: readonly SyntheticSession[];
  /** Write lap, session and activity messages (default true); false = a watch that lost power. */
  readonly summary?: boolean;
  /** file_id.serial_number: which device recorded it (default 1234). */
  readonly serialNumber?: number;
}

export const SYNTHETIC_START = new Date('2024-05-01T06:00:00Z');

const MESG = {
  FILE_ID: Profile.MesgNum.FILE_ID!,
  EVENT: Profile.MesgNum.EVENT!,
  RECORD: Profile.MesgNum.RECORD!,
  LAP: Profile.MesgNum.LAP!,
  SESSION: Profile.MesgNum.SESSION!,
  ACTIVITY: Profile.MesgNum.ACTIVITY!,
};
const DEGREES_TO_SEMICIRCLES = 2 ** 31 / 180;
const METRES_PER_DEGREE_LAT = 111_320;

/** Position and odometer, carried from one session to the next. */
interface Walker {
  lat: number;
  lon: number;
  distance: number;
  t: number; // seconds since the activity start
}

function heartRateAt(t: number): number {
  return Math.round(140 + 15 * Math.sin(t / 500));
}

function step(w: Walker, speed: number): void {
  const heading = 0.3 * Math.sin(w.t / 400) + 0.2 * Math.sin(w.t / 97) + w.t / 3000;
  w.lat += (speed * Math.cos(heading)) / METRES_PER_DEGREE_LAT;
  w.lon += (speed * Math.sin(heading)) / (METRES_PER_DEGREE_LAT * Math.cos((w.lat * Math.PI) / 180));
  w.distance += speed;
  w.t += 1;
}

export function syntheticActivity(options: SyntheticActivityOptions): Uint8Array {
  const start = (options.start ?? SYNTHETIC_START).getTime();
  const summary = options.summary ?? true;
  const at = (t: number) => new Date(start + t * 1000);
  const encoder = new Encoder();
  // Enum fields are written by name ('running', 'activity'), as the Decoder returns them and the
  // Encoder accepts them; the SDK's type declarations only admit the numeric values, hence the cast.
  const write = (mesgNum: number, fields: Record<string, unknown>) => encoder.onMesg(mesgNum, fields as Mesg);
  write(MESG.FILE_ID, { type: 'activity', manufacturer: 'development', product: 1, serialNumber: options.serialNumber ?? 1234, timeCreated: at(0) });
  write(MESG.EVENT, { timestamp: at(0), event: 'timer', eventType: 'start', eventGroup: 0 });

  const w: Walker = { lat: 46.0, lon: 7.0, distance: 0, t: 0 };
  let lapIndex = 0;
  options.sessions.forEach((s, sessionIndex) => {
    const { sport = 'running', subSport = 'generic', seconds, gps = true, laps = 1, heartRate = true, speedMps = 3, omitSessionTotals = false } = s;
    const sessionStart = w.t;
    const sessionStartDistance = w.distance;
    const firstLapIndex = lapIndex;
    let hrSum = 0;
    for (let lap = 0; lap < laps; lap++) {
      const lapStart = w.t;
      const lapStartDistance = w.distance;
      const lapEnd = sessionStart + Math.round(((lap + 1) * seconds) / laps);
      while (w.t < lapEnd) {
        const hr = heartRateAt(w.t);
        hrSum += hr;
        write(MESG.RECORD, {
          timestamp: at(w.t),
          distance: w.distance,
          speed: speedMps,
          ...(gps ? { positionLat: Math.round(w.lat * DEGREES_TO_SEMICIRCLES), positionLong: Math.round(w.lon * DEGREES_TO_SEMICIRCLES) } : {}),
          ...(heartRate ? { heartRate: hr } : {}),
        });
        step(w, speedMps);
      }
      if (summary) {
        write(MESG.LAP, {
          timestamp: at(w.t),
          startTime: at(lapStart),
          totalElapsedTime: w.t - lapStart,
          totalTimerTime: w.t - lapStart,
          totalDistance: w.distance - lapStartDistance,
          sport,
          subSport,
          messageIndex: lapIndex,
          event: 'lap',
          eventType: 'stop',
        });
      }
      lapIndex++;
    }
    if (summary) {
      write(MESG.SESSION, {
        timestamp: at(w.t),
        startTime: at(sessionStart),
        totalElapsedTime: w.t - sessionStart,
        totalTimerTime: w.t - sessionStart,
        ...(omitSessionTotals ? {} : { totalDistance: w.distance - sessionStartDistance }),
        totalAscent: Math.round(seconds / 36),
        sport,
        subSport,
        ...(heartRate && seconds > 0 && !omitSessionTotals ? { avgHeartRate: Math.round(hrSum / seconds) } : {}),
        messageIndex: sessionIndex,
        firstLapIndex,
        numLaps: laps,
        event: 'session',
        eventType: 'stop',
      });
    }
  });

  write(MESG.EVENT, { timestamp: at(w.t), event: 'timer', eventType: 'stopAll', eventGroup: 0 });
  if (summary) {
    write(MESG.ACTIVITY, {
      timestamp: at(w.t),
      totalTimerTime: w.t,
      numSessions: options.sessions.length,
      type: 'manual',
      event: 'activity',
      eventType: 'stop',
    });
  }
  return encoder.close();
}

export interface SyntheticRunOptions {
  readonly hours?: number;
  /** Overrides `hours`. */
  readonly seconds?: number;
  readonly gps?: boolean;
  readonly laps?: number;
  readonly subSport?: string;
  readonly heartRate?: boolean;
  readonly start?: Date;
  readonly serialNumber?: number;
}

/** A single-session run: `syntheticRun({ hours: 10, gps: true })` is the 36,000-record ultra. */
export function syntheticRun(options: SyntheticRunOptions = {}): Uint8Array {
  const { hours = 1, seconds = Math.round(hours * 3600), gps = true, laps = 1, subSport = 'generic', heartRate = true, start, serialNumber } = options;
  return syntheticActivity({ start, serialNumber, sessions: [{ sport: 'running', subSport, seconds, gps, laps, heartRate }] });
}
