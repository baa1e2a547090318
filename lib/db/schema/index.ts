export * from "./rooms";
export * from "./messages";
