/** Shared by the server schema and the browser form (no Node imports here). */
export const DISPLAY_NAME_MAX = 32;
