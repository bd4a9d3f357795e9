/** The Pulumi project's name (Pulumi.yaml), the prefix of its config keys and of names derived without state. */
export const PROJECT = "ecommerce";
