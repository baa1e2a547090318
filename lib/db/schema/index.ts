export * from "./rooms";
export * from "./messages";
export * from "./invalidations";
