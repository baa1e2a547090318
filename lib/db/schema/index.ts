export * from "./rooms";
