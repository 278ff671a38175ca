export * from '@firebreak/testkit';
