// A rotated token Secret must not break a roll half-way: the nodes not rolled yet know only the old
// secret, the rolled ones the new. The operator keeps the token Secret's value as it last saw it in
// `<name>-token-previous` (key `current`); when the value changes, the old one goes to key `previous`,
// and while the nodes roll, the pods get it as HERALD_TOKEN_SECRET_PREVIOUS: a rolled node accepts
// tokens signed with it and signs a token for a node that still announces the old key with it. Once every
// node runs the new template the key is removed, and pods created later no longer get it. Pure.

/** The data of `<name>-token-previous` (base64 values, as in a Secret's data). */
export interface TokenState {
  current?: string;
  previous?: string;
}

export interface TokenRotation {
  /** A merge patch of the state Secret's data (null value: remove the key), or null when it stays. */
  write: Record<string, string | null> | null;
  /** Whether the pod template carries HERALD_TOKEN_SECRET_PREVIOUS. */
  previousActive: boolean;
}

/**
 * `token`: the token Secret's value now (base64; undefined when it cannot be read); `state`: the state
 * Secret's data (null: it does not exist yet); `rollDone`: every node is ready on the current template.
 */
export function tokenRotation(token: string | undefined, state: TokenState | null, rollDone: boolean): TokenRotation {
  if (token === undefined) return { write: null, previousActive: !!state?.previous };
  if (!state) return { write: { current: token }, previousActive: false };
  if (state.current !== token) {
    // a rotation; a second one before the first finished keeps only the latest old value
    return state.current ? { write: { current: token, previous: state.current }, previousActive: true } : { write: { current: token }, previousActive: !!state.previous };
  }
  if (state.previous && rollDone) return { write: { previous: null }, previousActive: false };
  return { write: null, previousActive: !!state.previous };
}
