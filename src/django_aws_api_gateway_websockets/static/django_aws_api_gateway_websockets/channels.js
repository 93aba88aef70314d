/*! django-aws-api-gateway-websockets client channels 5.0.0.dev0 | MIT licence */
/**
 * Subscriptions, history and presence for the shipped client (client.js imports this module;
 * pages do not need to). The wire format is in docs/channels-presence-history.md.
 *
 * A `ChannelSet` remembers, per channel the page wants: its position (the offset up to which
 * every publication was seen, and the epoch), the offsets seen beyond it, the members
 * (presence), and whether a `subscribe` is waiting for its answer. It turns the frames the
 * server sends into events, and never shows a publication twice:
 * - live frames of a channel whose subscribe is unanswered (publications, join, leave) are held
 *   back, then given after the answer's presence snapshot and recovered publications (a join of
 *   a member the snapshot has already does not count twice; a leave of one it lacks is ignored);
 * - a publication at or below the position, or seen beyond it already, is dropped;
 * - live publications may arrive out of order (each is posted by its own request): one ahead
 *   of a gap is shown at once, and the position stays before the gap, so the next subscribe
 *   (after a reconnect or renewal) recovers whatever never came.
 */

/** The frames this module handles (any other frame is a "message" of the client). */
export const CHANNEL_FRAMES = Object.freeze([
  "subscribed",
  "unsubscribed",
  "publication",
  "join",
  "leave",
]);

/** Offsets remembered beyond a gap; past this many the position jumps over the gap. */
const MAX_AHEAD = 1000;

/** `[namespace:]name[#suffix]`, at most 128 characters (the server's rule). */
const CHANNEL_RE = /^(?:[a-z][a-z0-9_-]{0,31}:)?[A-Za-z0-9_-]+(?:#[A-Za-z0-9_-]+)?$/;

/** A channel name the server accepts in a subscribe. */
export function isChannel(name) {
  return typeof name === "string" && name.length <= 128 && CHANNEL_RE.test(name);
}

function validPosition(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    Number.isSafeInteger(value.offset) &&
    value.offset >= 0 &&
    typeof value.epoch === "string" &&
    /^[A-Za-z0-9_-]{1,16}$/.test(value.epoch)
  );
}

export class ChannelSet {
  /**
   * `emit(type, detail)` dispatches the client's events; `positions`: `{channel: {offset,
   * epoch}}` to start from (what `{% channel_positions %}` rendered with the page).
   */
  constructor(emit, positions = {}) {
    this._emit = emit;
    this._channels = new Map(); // channel -> state (see _state)
    this._start = {};
    for (const [channel, position] of Object.entries(positions || {})) {
      if (isChannel(channel) && validPosition(position)) {
        this._start[channel] = { offset: position.offset, epoch: position.epoch };
      }
    }
  }

  _state(channel) {
    let state = this._channels.get(channel);
    if (!state) {
      state = {
        position: this._start[channel] || null, // {offset, epoch}: everything up to it was seen
        ahead: new Set(), // offsets seen beyond the position (after a gap)
        pending: 0, //       subscribes sent and not answered yet
        held: [], //         live frames (publications, join, leave) held back while pending
        presence: null, //   {count, members: Map(user -> info) | null}
      };
      this._channels.set(channel, state);
    }
    return state;
  }

  /** The channels wanted, in the order they were asked for. */
  get channels() {
    return [...this._channels.keys()];
  }

  has(channel) {
    return this._channels.has(channel);
  }

  /** Want `channel`; the subscribe item to send for it (with `since` when a position is known). */
  add(channel) {
    if (!isChannel(channel)) {
      throw new RangeError(`not a channel name: ${JSON.stringify(channel)}`);
    }
    const state = this._state(channel);
    state.pending += 1;
    return state.position ? { channel, since: { ...state.position } } : channel;
  }

  /** Stop wanting `channel` (its position and members are forgotten). */
  remove(channel) {
    return this._channels.delete(channel);
  }

  /** A new connection: the subscribe items for every channel wanted (nothing is confirmed). */
  resubscribe() {
    const items = [];
    for (const [channel, state] of this._channels) {
      state.pending = 1;
      items.push(state.position ? { channel, since: { ...state.position } } : channel);
    }
    return items;
  }

  /** No subscribe is waiting for its answer. */
  settled() {
    for (const state of this._channels.values()) if (state.pending) return false;
    return true;
  }

  /** `{offset, epoch}` of the last publication seen on `channel`, or null. */
  position(channel) {
    const state = this._channels.get(channel);
    return state && state.position ? { ...state.position } : null;
  }

  /** `{count, members}` of `channel` (members: `[{user, info}]`, null when count-only), or null. */
  presence(channel) {
    const state = this._channels.get(channel);
    if (!state || !state.presence) return null;
    const { count, members } = state.presence;
    return {
      count,
      members: members ? [...members].map(([user, info]) => ({ user, info })) : null,
    };
  }

  /** Handle `frame` if it is a channel frame; true when it was. */
  handle(frame) {
    if (!frame || typeof frame !== "object" || !CHANNEL_FRAMES.includes(frame.type)) return false;
    const handlers = {
      subscribed: () => this._subscribed(frame),
      unsubscribed: () => this._unsubscribed(frame),
      publication: () => this._publication(frame),
      join: () => this._join(frame),
      leave: () => this._leave(frame),
    };
    handlers[frame.type]();
    return true;
  }

  _subscribed(frame) {
    for (const entry of Array.isArray(frame.channels) ? frame.channels : []) {
      const state = this._channels.get(entry.channel);
      if (!state) continue; // unsubscribed meanwhile
      state.pending = Math.max(0, state.pending - 1);
      const epochChanged = state.position && entry.epoch && entry.epoch !== state.position.epoch;
      const publications = Array.isArray(entry.publications) ? entry.publications : [];
      if (epochChanged || entry.recovered === false) this._reset(state, null);
      for (const publication of publications) {
        this._deliver(entry.channel, state, {
          type: "publication",
          channel: entry.channel,
          offset: publication.offset,
          epoch: entry.epoch,
          data: publication.data,
        });
      }
      if (typeof entry.offset === "number") {
        // what we have seen, or the stream's position when we could not see it all
        const seen = state.position ? state.position.offset : -1;
        if (entry.recovered !== true || seen < entry.offset) {
          this._reset(state, { offset: entry.offset, epoch: entry.epoch });
        }
      }
      if (entry.presence) {
        const members = Array.isArray(entry.presence.members)
          ? new Map(entry.presence.members.map((m) => [m.user, m.info]))
          : null;
        state.presence = { count: entry.presence.count, members };
      }
      this._emit("subscribed", {
        channel: entry.channel,
        recovered: "recovered" in entry ? entry.recovered : null,
        offset: entry.offset ?? null,
        epoch: entry.epoch ?? null,
        publications: publications.length,
      });
      if (entry.presence) this._emit("presence", { channel: entry.channel, ...this.presence(entry.channel) });
      if (!state.pending) {
        const held = state.held;
        state.held = [];
        for (const heldFrame of held) this._replay(entry.channel, state, heldFrame);
      }
    }
    for (const refusal of Array.isArray(frame.refused) ? frame.refused : []) {
      if (this._channels.delete(refusal.channel)) {
        this._emit("refused", { channel: refusal.channel, reason: refusal.reason });
      }
    }
  }

  _unsubscribed(frame) {
    for (const channel of Array.isArray(frame.channels) ? frame.channels : []) {
      if (frame.reason) this._channels.delete(channel); // revoked: do not subscribe again
      this._emit("unsubscribed", { channel, reason: frame.reason ?? null });
    }
  }

  /** Hold `frame` back while a subscribe of its channel is unanswered; true when held. */
  _hold(frame) {
    const state = this._channels.get(frame.channel);
    if (!state || !state.pending) return false;
    state.held.push(frame);
    return true;
  }

  /** A held frame, once the subscribe's answer (snapshot, recovered publications) is applied. */
  _replay(channel, state, frame) {
    if (frame.type === "publication") this._deliver(channel, state, frame);
    else if (frame.type === "join") this._join(frame);
    else this._leave(frame);
  }

  _publication(frame) {
    if (this._hold(frame)) return;
    this._deliver(frame.channel, this._channels.get(frame.channel), frame);
  }

  /** Emit `publication` unless its offset was seen already (same epoch). */
  _deliver(channel, state, frame) {
    if (state && typeof frame.offset === "number") {
      const last = state.position;
      if (!last || last.epoch !== frame.epoch) {
        this._reset(state, { offset: frame.offset, epoch: frame.epoch }); // a first, or a new stream
      } else if (frame.offset <= last.offset || state.ahead.has(frame.offset)) {
        this._emit("duplicate", { channel, offset: frame.offset });
        return;
      } else if (frame.offset === last.offset + 1) {
        let offset = frame.offset;
        while (state.ahead.delete(offset + 1)) offset += 1;
        state.position = { offset, epoch: last.epoch };
      } else {
        state.ahead.add(frame.offset);
        if (state.ahead.size > MAX_AHEAD) this._reset(state, { offset: Math.max(...state.ahead), epoch: last.epoch });
      }
    }
    this._emit("publication", {
      channel,
      data: frame.data,
      offset: frame.offset ?? null,
      epoch: frame.epoch ?? null,
    });
  }

  _reset(state, position) {
    state.position = position;
    state.ahead.clear();
  }

  _join(frame) {
    if (this._hold(frame)) return;
    const state = this._channels.get(frame.channel);
    const presence = state && state.presence;
    if (presence) {
      if (!presence.members || !presence.members.has(frame.user)) presence.count += 1;
      if (presence.members) presence.members.set(frame.user, frame.info ?? null);
    }
    this._emit("join", { channel: frame.channel, user: frame.user, info: frame.info ?? null });
    if (presence) this._emit("presence", { channel: frame.channel, ...this.presence(frame.channel) });
  }

  _leave(frame) {
    if (this._hold(frame)) return;
    const state = this._channels.get(frame.channel);
    const presence = state && state.presence;
    if (presence) {
      if (!presence.members || presence.members.delete(frame.user)) {
        presence.count = Math.max(0, presence.count - 1);
      }
    }
    this._emit("leave", { channel: frame.channel, user: frame.user });
    if (presence) this._emit("presence", { channel: frame.channel, ...this.presence(frame.channel) });
  }
}
