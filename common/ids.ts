// The id syntax on its own, free of zod, so the workflow bundle can use it too
// (common/validation.ts builds the schemas and messages on top of it).
export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const ID_RULE = 'lowercase letters, digits, "-" and "_", starting with a letter or digit, at most 63 characters';
