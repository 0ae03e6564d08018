import { hostname } from 'node:os';
import { z } from 'zod';
import { httpOrigin } from '../../util/origin.js';

/**
 * Several bridge processes sharing one etcd cluster: each meeting has one owner process at a time (an etcd lease),
 * webhooks reach the owner through etcd, and a process that is lost hands its meetings on when its lease expires.
 */
export const fleetOptions = z.strictObject({
  etcd: z.strictObject({
    /** A list, or one string of comma-separated URLs (as an environment variable gives them). */
    endpoints: z.preprocess(
      (value) => (typeof value === 'string' ? value.split(',').map((url) => url.trim()).filter(Boolean) : value),
      z.array(z.string().regex(/^https?:\/\/[^/\s]+\/?$/, 'expected an etcd client URL like http://etcd:2379 or https://etcd:2379')).min(1),
    ),
    /** Every key the bridge writes starts with this; fleets sharing one etcd cluster use different prefixes. */
    prefix: z.string().regex(/^[^\s]*\/$/, 'a key prefix ending in /, like /caption-bridge/').default('/caption-bridge/'),
    /** etcd's own authentication; give the password as ${ETCD_PASSWORD}, not in the file. */
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    /** https:// endpoints: the CA that signed etcd's certificate, and a client certificate if etcd asks for one. */
    tls: z.strictObject({ caFile: z.string(), certFile: z.string().optional(), keyFile: z.string().optional() }).optional(),
  }),
  /** This process's name in the fleet, unique per process (a Kubernetes pod's name is its hostname). */
  name: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash and underscore')
    .default(() => `${hostname()}-${process.pid}`),
  /** Where the other processes reach this one: shown in /meetings, and caption page readers of its meetings are relayed here. */
  advertiseUrl: z
    .string()
    .refine((url) => httpOrigin(url) !== undefined, 'expected an http:// or https:// origin, like http://10.0.0.7:8080 (no path, query, fragment or credentials)')
    .optional(),
  /**
   * How long the fleet waits for a silent process before another takes its meetings. The process itself stops
   * posting a quarter of this before, so there are never two writers to one Caption URL.
   */
  leaseSeconds: z.number().int().min(2).max(60).default(4),
  /** Meetings this process owns at most; beyond it (or while its engines lag) it leaves new meetings to others. */
  maxMeetings: z.number().int().min(1).max(1_000).default(8),
});

export type FleetOptions = z.infer<typeof fleetOptions>;
