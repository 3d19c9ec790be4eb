export { Petrel, type PetrelOptions } from "./petrel.js";
