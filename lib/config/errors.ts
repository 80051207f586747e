// The configuration error class lives in the contract room (the fields room throws it too).
export { ConfigError } from '../contract/errors.js';
