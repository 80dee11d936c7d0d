// Entry point of the Parley console.
import { createApp } from 'vue';
import App from './App.vue';
import { router } from './router';
import { i18n } from './i18n';
import element from './plugins/element';
import './styles.css';

createApp(App).use(i18n).use(element).use(router).mount('#app');
